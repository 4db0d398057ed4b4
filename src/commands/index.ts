import { existsSync } from "node:fs";
import { defaultCacheDir } from "../config.js";
import { McmError } from "../core/errors.js";
import type { IndexSummary, LayoutName } from "../core/types.js";
import { LAYOUT_NAMES } from "../layouts/index.js";
import { verbosity } from "../log.js";
import { plural, size } from "../report/format.js";
import { indexRoot } from "../scan/indexer.js";
import { type GlobalOptions, openContext, parseMode, reportWarnings } from "./context.js";

export interface IndexCommandOptions {
  cacheDir?: string;
  mode?: string;
  json?: boolean;
}

export async function run(o: IndexCommandOptions, g: GlobalOptions): Promise<number> {
  const mode = parseMode(o.mode);
  const ctx = openContext(g);
  const dirs = o.cacheDir !== undefined ? [o.cacheDir] : defaultDirs(mode);
  const summaries: IndexSummary[] = [];
  for (const dir of dirs) {
    summaries.push(await indexRoot(ctx.db, dir, { mode, progress: process.stderr.isTTY === true }));
  }
  const total = (k: "kernels" | "added" | "updated" | "removed" | "unchanged") =>
    summaries.reduce((s, x) => s + x[k], 0);
  const warnings = summaries.flatMap((s) => s.warnings);
  if (o.json) {
    ctx.json({
      kernels: total("kernels"),
      added: total("added"),
      updated: total("updated"),
      removed: total("removed"),
      unchanged: total("unchanged"),
      warningCount: warnings.length,
      roots: summaries.map((s) => ({ ...s, warningCount: s.warnings.length, seconds: Number(s.seconds.toFixed(3)) })),
    });
    if (verbosity() >= 1) reportWarnings(warnings);
  } else {
    for (const s of summaries) {
      const bytes = ctx.db.rootBytes(s.root);
      ctx.out(
        `Indexed ${s.root} (${s.layout}): ${plural(s.kernels, "kernel")}, ${size(bytes)} ` +
          `(${s.added} added, ${s.updated} updated, ${s.removed} removed, ${s.unchanged} unchanged) in ${s.seconds.toFixed(2)} s`,
      );
    }
    reportWarnings(warnings);
  }
  return 0;
}

/** No --cache-dir: the default folder of the mode, or with auto each default that exists. */
export function defaultDirs(mode: ReturnType<typeof parseMode>): string[] {
  if (mode !== "auto") return [defaultCacheDir(mode)];
  const found = (LAYOUT_NAMES as LayoutName[]).map(defaultCacheDir).filter((d) => existsSync(d));
  if (found.length === 0) {
    throw new McmError(
      `no cache found at the default places (${(LAYOUT_NAMES as LayoutName[]).map(defaultCacheDir).join(", ")}); pass --cache-dir`,
    );
  }
  return found;
}
