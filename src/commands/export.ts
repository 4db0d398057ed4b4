import { resolve } from "node:path";
import { McmError, NothingMatched } from "../core/errors.js";
import type { KernelFilters } from "../core/filters.js";
import { exportArchive } from "../pack/export.js";
import { plural, size } from "../report/format.js";
import { resolveCacheDir } from "../scan/cache-dir.js";
import {
  type FilterOptions,
  freshIndex,
  type GlobalOptions,
  openContext,
  parseFilters,
  parseMode,
  reportWarnings,
} from "./context.js";
import { defaultDirs } from "./index.js";

export interface ExportCommandOptions extends FilterOptions {
  output?: string;
  json?: boolean;
}

/** Filters that pick kernels (not --cache-dir or --mode, which pick the cache). */
function picksKernels(f: KernelFilters): boolean {
  const { cacheDir: _c, mode: _m, ...rest } = f;
  return Object.values(rest).some((v) => v !== undefined);
}

export async function run(o: ExportCommandOptions, g: GlobalOptions): Promise<number> {
  if (!o.output) throw new McmError("export needs -o FILE.tar.gz");
  const filters = parseFilters(o);
  const mode = parseMode(o.mode);
  let root: string;
  if (filters.cacheDir !== undefined) root = filters.cacheDir;
  else {
    const found = defaultDirs(mode);
    if (found.length > 1) throw new McmError(`several caches found (${found.join(", ")}): pick one with --cache-dir`);
    root = resolveCacheDir(found[0] as string);
  }
  let kernels: string[] | undefined;
  let folders: string[] | undefined;
  if (picksKernels(filters)) {
    const ctx = openContext(g);
    reportWarnings((await freshIndex(ctx, root, mode)).flatMap((s) => s.warnings));
    // one row at a time: only the paths are kept
    const picked: string[] = [];
    const units = new Set<string>();
    for (const k of ctx.db.iterateKernels({ ...filters, cacheDir: root })) {
      // a kernel inside vLLM compile units: the folder of units that embeds it goes whole
      if (k.embedded > 0) units.add(k.container);
      else picked.push(k.path);
    }
    if (picked.length === 0 && units.size === 0) throw new NothingMatched("no kernel matches: nothing to export");
    kernels = picked;
    folders = [...units];
  }
  const out = resolve(o.output);
  const r = await exportArchive({ root, mode, kernels, folders, out });
  const m = r.manifest;
  if (o.json) {
    process.stdout.write(
      `${JSON.stringify(
        {
          archive: out,
          bytes: r.bytes,
          sha256: r.sha256,
          root: r.root,
          layout: r.layout,
          scope: m.scope,
          sourceRoot: m.sourceRoot,
          totals: m.totals,
          kernels: m.kernels,
          skipped: r.skipped,
          warningCount: r.warnings.length,
        },
        null,
        2,
      )}\n`,
    );
  } else {
    const what = m.scope === "cache" ? "the whole cache" : `${m.totals.kernels} selected kernels`;
    process.stdout.write(
      `Exported ${what} of ${r.root} (${r.layout}): ${plural(m.totals.kernels, "kernel")}, ${plural(m.totals.files, "file")}, ${size(m.totals.bytes)}\n` +
        `  -> ${out}: ${size(r.bytes)}, sha256 ${r.sha256}\n`,
    );
    if (r.skipped.length) {
      process.stdout.write(`  left out ${plural(r.skipped.length, "entry")}:\n`);
      for (const s of r.skipped.slice(0, 20)) process.stdout.write(`    ${s.path}: ${s.reason}\n`);
      if (r.skipped.length > 20) process.stdout.write(`    ... and ${r.skipped.length - 20} more (--json lists all)\n`);
    }
  }
  reportWarnings(r.warnings);
  return 0;
}
