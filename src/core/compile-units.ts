// What `stats` says of vLLM compile units, per vLLM hash. Plain data, no I/O.
import type { UnitFormat, UnitRecord } from "./types.js";

export interface UnitLike
  extends Pick<UnitRecord, "vllmHash" | "rank" | "prefix" | "format" | "bytes" | "digest" | "inode"> {
  rangeStart: number | null;
  rangeEnd: number | null;
  kernels: number;
}

export interface HashSummary {
  vllmHash: string;
  model: string | null;
  formats: UnitFormat[];
  ranks: string[];
  prefixes: string[];
  /** compile ranges as "a-b" */
  ranges: string[];
  units: number;
  bytes: number;
  /** bytes in byte-identical copies beyond the first of each (already hard-linked copies excluded) */
  duplicateBytes: number;
}

const sorted = <T>(xs: Iterable<T>) => [...new Set(xs)].sort();

export function summarizeUnits(units: UnitLike[], modelOf: (hash: string) => string | null): HashSummary[] {
  const byHash = new Map<string, UnitLike[]>();
  for (const u of units) {
    const h = u.vllmHash ?? "";
    byHash.set(h, [...(byHash.get(h) ?? []), u]);
  }
  return [...byHash.keys()].sort().map((h) => {
    const us = byHash.get(h) as UnitLike[];
    return {
      vllmHash: h,
      model: modelOf(h),
      formats: sorted(us.map((u) => u.format)),
      ranks: sorted(us.flatMap((u) => (u.rank ? [u.rank] : []))),
      prefixes: sorted(us.flatMap((u) => (u.prefix ? [u.prefix] : []))),
      ranges: sorted(us.flatMap((u) => (u.rangeStart === null ? [] : [`${u.rangeStart}-${u.rangeEnd}`]))),
      units: us.length,
      bytes: us.reduce((n, u) => n + u.bytes, 0),
      duplicateBytes: duplicateBytes(us),
    };
  });
}

/** Per identical content, every distinct file (inode) past the first could be a link to it. */
export function duplicateBytes(units: readonly UnitLike[]): number {
  const inodes = new Map<string, Set<string>>();
  const size = new Map<string, number>();
  for (const u of units) {
    if (!u.digest) continue;
    const set = inodes.get(u.digest) ?? new Set<string>();
    set.add(u.inode ?? `${set.size}`);
    inodes.set(u.digest, set);
    size.set(u.digest, u.bytes);
  }
  let n = 0;
  for (const [d, set] of inodes) n += (set.size - 1) * (size.get(d) as number);
  return n;
}
