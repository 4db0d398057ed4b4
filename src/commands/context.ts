// What every command shares: global options, the database, filters, output.
import { defaultDbPath } from "../config.js";
import { parseDuration } from "../core/duration.js";
import { McmError, NothingMatched } from "../core/errors.js";
import { type KernelFilters, parseNameFilter } from "../core/filters.js";
import { parseWholeNumber, refuseEmpty } from "../core/flags.js";
import { shortenLongRuns } from "../core/short-path.js";
import type { IndexSummary, Mode, RootRow, ScanWarning } from "../core/types.js";
import { IndexDb } from "../db/index.js";
import { LAYOUT_NAMES } from "../layouts/index.js";
import { log, verbosity } from "../log.js";
import { type Colors, makeColors } from "../report/colors.js";
import { safeText } from "../report/safe-text.js";
import { resolveCacheDir } from "../scan/cache-dir.js";
import { refreshRoots } from "../scan/refresh.js";

export interface GlobalOptions {
  db?: string;
  verbose: number;
  color: boolean;
}

/** Options of `list` that select kernels; `prune` takes the same. */
export interface FilterOptions {
  name?: string;
  backend?: string;
  arch?: string;
  olderThan?: string;
  youngerThan?: string;
  cacheDir?: string;
  mode?: string;
  cacheHitLower?: string;
  cacheHitHigher?: string;
  tritonVersion?: string;
}

export interface Context {
  db: IndexDb;
  colors: Colors;
  out: (text: string) => void;
  json: (value: unknown) => void;
}

export function openContext(g: GlobalOptions): Context {
  refuseEmpty("--db", g.db); // better-sqlite3 reads "" as a throwaway database
  return {
    db: new IndexDb(g.db ?? defaultDbPath()),
    colors: makeColors(!g.color),
    out: (text) => process.stdout.write(`${text}\n`),
    json: (value) => process.stdout.write(`${jsonText(value)}\n`),
  };
}

/** JSON.stringify, whose RangeError (a value nested too deep for the stack, or too big) is one clear line. */
function jsonText(value: unknown): string {
  try {
    return JSON.stringify(value, null, 2);
  } catch (e) {
    if (e instanceof RangeError) throw new McmError(`cannot print the result as JSON: ${e.message}`);
    throw e;
  }
}

export function parseMode(mode: string | undefined): Mode {
  if (mode === undefined || mode === "auto") return "auto";
  if ((LAYOUT_NAMES as string[]).includes(mode)) return mode as Mode;
  throw new McmError(`invalid mode '${mode}': use auto, triton, inductor or vllm`);
}

function parseCount(flag: string, v: string | undefined): number | undefined {
  return v === undefined ? undefined : parseWholeNumber(flag, v);
}

export function parseFilters(o: FilterOptions): KernelFilters {
  return {
    name: o.name !== undefined ? parseNameFilter(o.name) : undefined,
    backend: o.backend,
    arch: o.arch,
    olderThanMs: o.olderThan !== undefined ? parseDuration(o.olderThan) : undefined,
    youngerThanMs: o.youngerThan !== undefined ? parseDuration(o.youngerThan) : undefined,
    cacheDir: o.cacheDir !== undefined ? resolveCacheDir(o.cacheDir) : undefined,
    mode: o.mode !== undefined ? parseMode(o.mode) : undefined,
    hitsBelow: parseCount("--cache-hit-lower", o.cacheHitLower),
    hitsAbove: parseCount("--cache-hit-higher", o.cacheHitHigher),
    tritonVersion: o.tritonVersion,
  };
}

/**
 * Brings the index up to date before a read: refreshes changed roots, and
 * indexes a --cache-dir that was never indexed.
 */
export async function freshIndex(
  ctx: Context,
  cacheDir: string | undefined,
  mode: Mode = "auto",
): Promise<IndexSummary[]> {
  const progress = process.stderr.isTTY === true;
  if (cacheDir !== undefined && ctx.db.rootsFor(cacheDir).length === 0) {
    const { indexRoot } = await import("../scan/indexer.js");
    return [await indexRoot(ctx.db, cacheDir, { mode, progress })];
  }
  return refreshRoots(ctx.db, cacheDir, { progress });
}

/** The indexed roots a command works on; none is "nothing matched". */
export function scopedRoots(ctx: Context, cacheDir: string | undefined): RootRow[] {
  const roots = ctx.db.rootsFor(cacheDir);
  if (roots.length === 0) throw new NothingMatched("no cache is indexed yet: run `mcm index` (or pass --cache-dir)");
  return roots;
}

/** freshIndex, its warnings reported, then the roots in scope (none is "nothing matched"). */
export async function indexedRoots(ctx: Context, filters: KernelFilters): Promise<RootRow[]> {
  reportWarnings((await freshIndex(ctx, filters.cacheDir, filters.mode)).flatMap((s) => s.warnings));
  return scopedRoots(ctx, filters.cacheDir);
}

/** Prints each warning at -v; otherwise one line saying how many there are. */
export function reportWarnings(warnings: ScanWarning[]): void {
  if (warnings.length === 0) return;
  if (verbosity() >= 1) {
    for (const w of warnings) log.warn(safeText(shortenLongRuns(`${w.path}: ${w.message}`)));
  } else {
    process.stderr.write(`${warnings.length} warning${warnings.length === 1 ? "" : "s"} (run with -v to see them)\n`);
  }
}
