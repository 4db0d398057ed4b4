import { lstatSync, realpathSync, type Stats } from "node:fs";
import type { EntryRecord, LayoutName, ScanWarning, TritonDir } from "../core/types.js";
import type { IndexDb, KnownEntry } from "../db/index.js";
import { addHash, bucketOf, entryHash } from "./digest.js";
import { readEntry } from "./entry.js";
import { errorCode, isInside, warn } from "./util.js";

/** Entries of one Triton dir to check and (re)read: plain data, so it can cross to a worker thread. */
export interface EntryBatch {
  root: string;
  layout: LayoutName;
  dir: TritonDir;
  /** sorted; whole buckets (see digest.ts) */
  names: string[];
  /** the index held nothing for this root: no lookups needed */
  fresh: boolean;
  /** the digest of each bucket in this batch at the last index */
  digests: Record<string, number>;
  /** per name, what the index holds (looked up on the main thread); absent when fresh */
  known?: (KnownEntry | null)[];
  /** only the changed names of a batch: its digests are not the buckets' */
  partial?: boolean;
}

export interface StoreCounts {
  added: number;
  updated: number;
  /** kernels that are gone, or no longer kernels */
  removed: number;
  /** entries the index held before this run, found again */
  knownSeen: number;
  /** the digest of each bucket in this batch now */
  digests: Record<string, number>;
}

const LSTAT = { throwIfNoEntry: false } as const;

function linkRecord(path: string, mtime: number, b: EntryBatch, w: ScanWarning): EntryRecord {
  return {
    kind: "other",
    path,
    root: b.root,
    container: b.dir.path,
    bytes: 0,
    files: 0,
    dirMtime: mtime,
    warnings: [w],
  };
}

export type Stat = Stats | undefined | Error;

function statOf(path: string): Stat {
  try {
    return lstatSync(path, LSTAT);
  } catch (e) {
    return e as Error;
  }
}

/** Compare with the index, read what changed. Symlinks are never followed. */
function check(
  b: EntryBatch,
  path: string,
  st: Stat,
  known: KnownEntry | undefined,
): EntryRecord | "unchanged" | "gone" {
  if (st instanceof Error) {
    return linkRecord(path, -1, b, warn(path, errorCode(st), `cannot stat: ${st.message}`));
  }
  if (!st) return "gone";
  if (st.mtimeMs === known?.mtime) {
    return "unchanged";
  }
  if (st.isSymbolicLink()) {
    let real = path;
    try {
      real = realpathSync(path);
    } catch {
      // dangling: recorded as a plain entry, never followed
    }
    if (!isInside(b.root, real)) {
      return linkRecord(
        path,
        st.mtimeMs,
        b,
        warn(path, "symlink-escape", `symbolic link leaves the cache root (to ${real}); not followed`),
      );
    }
  }
  return readEntry(path, st.isDirectory(), st.mtimeMs, { root: b.root, layout: b.layout, dir: b.dir });
}

/** A batch after its stat calls: done when its digests match the last index. */
export interface CheckedBatch {
  counts: StoreCounts;
  paths: string[];
  stats: Stat[];
  done: boolean;
}

/** Phase one, no database: stat every entry and compare the bucket digests. */
export function checkBatch(b: EntryBatch): CheckedBatch {
  const counts: StoreCounts = { added: 0, updated: 0, removed: 0, knownSeen: 0, digests: {} };
  const paths = b.names.map((n) => `${b.dir.path}/${n}`);
  const stats = paths.map(statOf);
  b.names.forEach((n, i) => {
    const st = stats[i];
    const bucket = bucketOf(n);
    const mtime = st && !(st instanceof Error) ? st.mtimeMs : null;
    counts.digests[bucket] = addHash(counts.digests[bucket] ?? 0, entryHash(n, mtime));
  });
  const done = !b.fresh && Object.entries(counts.digests).every(([k, d]) => b.digests[k] === d);
  if (done) counts.knownSeen = b.names.length; // the same names with the same mtimes as last time
  return { counts, paths, stats, done };
}

/**
 * Between the phases, on the main thread: looks a changed batch up in the index
 * (one query) and keeps only the entries whose mtime differs, so that workers
 * start only for real reading.
 */
export function settleBatch(b: EntryBatch, c: CheckedBatch, db: IndexDb): EntryBatch | null {
  const held = db.lookupEntries(c.paths);
  const names: string[] = [];
  const known: (KnownEntry | null)[] = [];
  c.paths.forEach((p, i) => {
    const k = held.get(p) ?? null;
    const st = c.stats[i];
    if (k) c.counts.knownSeen++;
    if (k && st && !(st instanceof Error) && st.mtimeMs === k.mtime) return; // unchanged
    names.push(b.names[i] as string);
    known.push(k);
  });
  return names.length ? { ...b, names, known, partial: true } : null;
}

/**
 * Phase two: stats the entries again, reads those that changed, and writes
 * them in one transaction. Runs on the main thread or in a worker with its own
 * connection, so that the writing is spread over the threads too.
 */
export function storeBatch(b: EntryBatch, db: IndexDb): StoreCounts {
  const c = checkBatch({ ...b, fresh: true }); // stats and (for a whole batch) digests
  const { counts, paths, stats } = c;
  const known = paths.map((_, i) => b.known?.[i] ?? undefined);
  if (!b.partial) counts.knownSeen = known.filter((k) => k !== undefined).length;
  else {
    counts.knownSeen = 0; // counted by settleBatch
    counts.digests = {};
  }
  // read before taking the write lock
  const results = paths.map((p, i) => check(b, p, stats[i] as Stat, known[i]));
  if (results.every((r) => r === "unchanged")) return counts;
  const w = db.writer();
  db.db
    .transaction(() => {
      results.forEach((r, i) => {
        const k = known[i];
        const was = k ? (k.kernel ? "kernel" : "other") : null;
        if (r === "unchanged") return;
        if (r === "gone") {
          if (was === "kernel") counts.removed++;
          if (was) w.remove(paths[i] as string);
          return;
        }
        if (r.kind === "kernel") {
          if (was === "kernel") counts.updated++;
          else counts.added++;
          if (was === "other") w.remove(r.path);
          w.kernel(r);
        } else {
          if (was === "kernel") {
            counts.removed++;
            w.remove(r.path);
          }
          w.other(r);
        }
      });
    })
    .immediate();
  return counts;
}
