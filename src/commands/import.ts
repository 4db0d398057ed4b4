import { randomBytes } from "node:crypto";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { defaultCacheDir } from "../config.js";
import { McmError } from "../core/errors.js";
import { parseSize } from "../core/size.js";
import { peekLayout } from "../pack/detect.js";
import { ArchiveRefused, archiveSize, type ImportResult, importArchive } from "../pack/import.js";
import { releaseMemory } from "../release-memory.js";
import { plural, size } from "../report/format.js";
import { capturedRoots } from "../warm/pack.js";
import { type GlobalOptions, openContext } from "./context.js";
import { printRefusals, type Settled, settledJson, settledLines, settleImported } from "./imported.js";

export interface ImportCommandOptions {
  cacheDir?: string;
  root?: string;
  /** import where the cache was compiled (its recorded root), so its absolute paths hold as they are */
  toOrigin?: boolean;
  dryRun?: boolean;
  json?: boolean;
  /** --max-size: the most the archive's files may add up to */
  maxSize?: string;
}

const SHOWN = 20;

function printResult(r: ImportResult, out: (s: string) => void): void {
  const kind =
    r.format === "mcm" ? "mcm archive" : r.format === "mcv" ? `MCV image layer (${r.root}/)` : "plain tarball";
  const check = r.verified ? "every sha256 verified" : "no manifest: no checksums to verify";
  out(`${r.dryRun ? "Would import" : "Imported"} ${r.archive} (${kind}, ${r.layout}; ${check}) into ${r.dest}:`);
  const k = r.kernels;
  out(
    `  kernels: ${k.added.length} added, ${k.identical.length} already present (skipped), ${k.conflicting.length} conflicting`,
  );
  out(
    `  other files: ${r.others.added} added, ${r.others.identical} already present, ${r.others.conflicting.length} conflicting`,
  );
  out(
    `  ${plural(r.files, "file")} (${size(r.bytes)}) ${r.dryRun ? "to write" : "written"}; ${plural(r.groupFilesRewritten, "group file")} pointed at ${r.dest}`,
  );
  const conflicts = [...k.conflicting, ...r.others.conflicting];
  for (const c of conflicts.slice(0, SHOWN)) out(`  conflict ${c.path}: ${c.reason}`);
  if (conflicts.length > SHOWN) out(`  ... and ${conflicts.length - SHOWN} more conflicts (--json lists all)`);
  for (const x of r.refused.slice(0, SHOWN)) out(`  refused ${JSON.stringify(x.entry)}: ${x.reason}`);
  if (r.refused.length > SHOWN) out(`  ... and ${r.refused.length - SHOWN} more refused (--json lists all)`);
  if (r.ignored.length) out(`  ${plural(r.ignored.length, "entry")} outside the cache folder of the archive ignored`);
  if (r.dryRun) out("Dry run: nothing was written.");
}

/**
 * Where the archive's cache was compiled: its absolute paths (kernel group
 * files, Inductor's pickled autotuner paths) are right only there.
 */
async function originOfArchive(archive: string, root: string | undefined, maxBytes?: number): Promise<string> {
  // a dry run into a folder that cannot exist reads the whole archive and writes nothing
  const nowhere = join(tmpdir(), `mcm-nowhere-${process.pid}-${randomBytes(6).toString("hex")}`);
  const r = await importArchive(archive, nowhere, { dryRun: true, root, maxBytes });
  if (!r.origin) {
    throw new McmError(
      `${archive} records no original cache folder (no manifest root, no group file); give --cache-dir`,
    );
  }
  return r.origin;
}

export async function run(file: string, o: ImportCommandOptions, g: GlobalOptions): Promise<number> {
  const maxBytes = o.maxSize === undefined ? undefined : parseSize(o.maxSize);
  const archive = resolve(file);
  archiveSize(archive); // a FIFO, a device or an empty file is refused before anything reads it
  if (o.toOrigin && o.cacheDir !== undefined) throw new McmError("give --cache-dir or --to-origin, not both");
  const dest = o.toOrigin
    ? await originOfArchive(archive, o.root, maxBytes)
    : resolve(o.cacheDir ?? defaultCacheDir(await peekLayout(archive)));
  let r: ImportResult;
  try {
    r = await importArchive(archive, dest, { dryRun: o.dryRun === true, root: o.root, maxBytes });
  } catch (e) {
    if (e instanceof ArchiveRefused) printRefusals(e);
    throw e;
  }
  const ctx = openContext(g);
  let settled: Settled | null = null;
  let indexed = null;
  if (!r.dryRun) {
    // a host-mode warm archive holds several caches (triton/, inductor/, ...): each has its own layout
    releaseMemory(); // the import's records, before the index makes its own
    settled = await settleImported(ctx, capturedRoots(dest) ?? [{ path: dest, layout: "auto" }]);
    indexed = { kernels: 0, staleGroupPaths: 0 };
    for (const s of settled.summaries) {
      indexed.kernels += s.kernels;
      indexed.staleGroupPaths += ctx.db.kernelTotals({ cacheDir: s.root }).staleGroup;
    }
  }
  if (o.json) {
    ctx.json({
      ...r,
      ...settledJson(settled),
      indexed,
    });
  } else {
    printResult(r, ctx.out);
    for (const line of settledLines(settled, dest)) ctx.out(`  ${line}`);
    if (indexed) {
      ctx.out(
        `Indexed ${dest}: ${plural(indexed.kernels, "kernel")}, ${indexed.staleGroupPaths} with stale group paths.`,
      );
    }
  }
  if (r.refused.length) {
    process.stderr.write(
      `mcm: refused ${plural(r.refused.length, "unsafe entry")} of ${file} (listed above); the rest was imported\n`,
    );
    return 2;
  }
  return 0;
}
