import { randomBytes } from "node:crypto";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { defaultCacheDir } from "../config.js";
import { McmError } from "../core/errors.js";
import { parseSize } from "../core/size.js";
import { UnitStore } from "../db/units.js";
import { peekLayout } from "../pack/detect.js";
import { ArchiveRefused, archiveSize, type ImportResult, importArchive } from "../pack/import.js";
import {
  describeImportedMoves,
  describeUnrewritten,
  type RelocateResult,
  relocateImported,
  type UnrewrittenRoot,
  unrewrittenRoots,
} from "../pack/relocate.js";
import { plural, size } from "../report/format.js";
import { indexRoot } from "../scan/indexer.js";
import { capturedRoots } from "../warm/pack.js";
import { type GlobalOptions, openContext, reportWarnings } from "./context.js";

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
    if (e instanceof ArchiveRefused) {
      for (const x of e.refused.slice(0, SHOWN))
        process.stderr.write(`refused ${JSON.stringify(x.entry)}: ${x.reason}\n`);
    }
    throw e;
  }
  const ctx = openContext(g);
  let indexed = null;
  const moves: RelocateResult[] = [];
  const left: UnrewrittenRoot[] = [];
  if (!r.dryRun) {
    // a host-mode warm archive holds several caches (triton/, inductor/, ...): each has its own layout
    const roots = capturedRoots(dest) ?? [{ path: dest, layout: "auto" as const }];
    indexed = { kernels: 0, staleGroupPaths: 0 };
    for (const root of roots) {
      const s = await indexRoot(ctx.db, root.path, { mode: root.layout, progress: process.stderr.isTTY === true });
      indexed.kernels += s.kernels;
      indexed.staleGroupPaths += ctx.db.kernelTotals({ cacheDir: s.root }).staleGroup;
      reportWarnings(s.warnings);
      // vLLM loads each compile unit by the absolute path in vllm_compile_cache.py, and Inductor's
      // autotuners read and write at the pickled paths of their kernels: point them here
      const units = new UnitStore(ctx.db);
      moves.push(relocateImported(s.root, units.compileFolders(s.root), ctx.db.inductorRoots(s.root)));
      left.push(...unrewrittenRoots(units.units(s.root), s.root, []));
    }
  }
  const moved = (k: "vllmIndexFiles" | "inductorEntries" | "inductorPaths") => moves.reduce((n, m) => n + m[k], 0);
  if (o.json) {
    ctx.json({
      ...r,
      vllmIndexFilesRewritten: moved("vllmIndexFiles"),
      inductorEntriesRewritten: moved("inductorEntries"),
      inductorPathsRewritten: moved("inductorPaths"),
      notRewritten: moves.flatMap((m) => m.skipped),
      notRewritable: left,
      indexed,
    });
  } else {
    printResult(r, ctx.out);
    for (const m of moves) for (const line of describeImportedMoves(m, dest)) ctx.out(`  ${line}`);
    for (const line of describeUnrewritten(left)) ctx.out(`  ${line}`);
    if (indexed) {
      ctx.out(
        `Indexed ${dest}: ${plural(indexed.kernels, "kernel")}, ${indexed.staleGroupPaths} with stale group paths.`,
      );
    }
  }
  if (r.refused.length) {
    process.stderr.write(
      `mcm: refused ${r.refused.length} unsafe entr${r.refused.length === 1 ? "y" : "ies"} of ${file} (listed above); the rest was imported\n`,
    );
    return 2;
  }
  return 0;
}
