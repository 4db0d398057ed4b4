// Phase one of a re-index, with no database: one lstat an entry and the bucket
// digests (digest.ts) they make. A batch whose digests match the last index
// is done; the others go on to be looked up and read. Plain data in and out,
// so that a share of the batches can run in a worker thread (check-worker.ts).
import { lstatSync, type Stats } from "node:fs";
import type { TritonDir } from "../core/types.js";
import { addHash, bucketOf, entryHash } from "./digest.js";

/** What phase one needs of a batch of entries (jobs.ts's EntryBatch is one). */
export interface BatchNames {
  dir: Pick<TritonDir, "path">;
  /** sorted; whole buckets (see digest.ts) */
  names: string[];
  /** the index held nothing for this root: no lookups needed */
  fresh: boolean;
  /** the digest of each bucket in this batch at the last index */
  digests: Record<string, number>;
}

/** A batch after its stat calls. */
export interface CheckedBatch {
  /** each entry's folder mtime, NaN where it is gone or cannot be read */
  mtimes: Float64Array;
  /** the digest of each bucket now */
  digests: Record<string, number>;
  /** the digests match the last index: the same names with the same mtimes */
  done: boolean;
}

export type Stat = Stats | undefined | Error;

const LSTAT = { throwIfNoEntry: false } as const;

export function statOf(path: string): Stat {
  try {
    return lstatSync(path, LSTAT);
  } catch (e) {
    return e as Error;
  }
}

export const mtimeOf = (st: Stat): number => (st && !(st instanceof Error) ? st.mtimeMs : Number.NaN);

/** The digest of each bucket of `names` with their mtimes (NaN: gone or unreadable). */
export function bucketDigests(names: string[], mtimes: Float64Array): Record<string, number> {
  const digests: Record<string, number> = {};
  names.forEach((n, i) => {
    const bucket = bucketOf(n);
    const m = mtimes[i] as number;
    digests[bucket] = addHash(digests[bucket] ?? 0, entryHash(n, Number.isNaN(m) ? null : m));
  });
  return digests;
}

export function checkBatch(b: BatchNames): CheckedBatch {
  const mtimes = new Float64Array(b.names.length);
  const prefix = `${b.dir.path}/`;
  for (let i = 0; i < mtimes.length; i++) mtimes[i] = mtimeOf(statOf(prefix + b.names[i]));
  const digests = bucketDigests(b.names, mtimes);
  const done = !b.fresh && Object.entries(digests).every(([k, d]) => b.digests[k] === d);
  return { mtimes, digests, done };
}
