import { realpathSync } from "node:fs";
import type { EntryRecord, LayoutName, ScanWarning, TritonDir } from "../core/types.js";
import type { IndexDb, KnownEntry } from "../db/index.js";
import { type BatchNames, bucketDigests, type CheckedBatch, mtimeOf, type Stat, statOf } from "./check.js";
import { readEntry } from "./entry.js";
import { errorCode, isInside, warn } from "./util.js";

/** Entries of one Triton dir to check and (re)read: plain data, so it can cross to a worker thread. */
export interface EntryBatch extends BatchNames {
  root: string;
  layout: LayoutName;
  dir: TritonDir;
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

/**
 * Between the phases, on the main thread: looks a changed batch up in the index
 * (one query) and keeps only the entries whose mtime differs, so that workers
 * start only for real reading.
 */
export function settleBatch(b: EntryBatch, c: CheckedBatch, counts: StoreCounts, db: IndexDb): EntryBatch | null {
  const paths = b.names.map((n) => `${b.dir.path}/${n}`);
  const held = db.lookupEntries(paths);
  const names: string[] = [];
  const known: (KnownEntry | null)[] = [];
  paths.forEach((p, i) => {
    const k = held.get(p) ?? null;
    if (k) counts.knownSeen++;
    if (k && c.mtimes[i] === k.mtime) return; // unchanged
    names.push(b.names[i] as string);
    known.push(k);
  });
  return names.length ? { ...b, names, known, partial: true } : null;
}

/** What phase one counted of a batch: all of it seen again when it is done. */
export function checkedCounts(b: EntryBatch, c: CheckedBatch): StoreCounts {
  return { added: 0, updated: 0, removed: 0, knownSeen: c.done ? b.names.length : 0, digests: c.digests };
}

/**
 * Phase two: stats the entries again, reads those that changed, and writes
 * them in one transaction. Runs on the main thread or in a worker with its own
 * connection, so that the writing is spread over the threads too.
 */
export function storeBatch(b: EntryBatch, db: IndexDb): StoreCounts {
  const paths = b.names.map((n) => `${b.dir.path}/${n}`);
  const stats = paths.map(statOf);
  const digests = bucketDigests(b.names, Float64Array.from(stats, mtimeOf));
  const counts: StoreCounts = { added: 0, updated: 0, removed: 0, knownSeen: 0, digests };
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
