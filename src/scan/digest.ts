// A digest of what a group of cache entries looks like on disk (names and
// folder mtimes). When a group's digest matches the one stored at the last
// index, nothing in it changed and the index need not be consulted at all:
// that is what makes a no-change re-index cost little more than the stat calls.

const MOD = 2 ** 52;

function fnv1a(s: string, seed: number): number {
  let h = seed;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 16777619);
  }
  return h >>> 0;
}

/** A 52-bit hash of one entry; sums of these are order-independent. */
export function entryHash(name: string, mtime: number | null): number {
  const s = `${name}\0${mtime}`;
  return (fnv1a(s, 2166136261) * 2 ** 20 + (fnv1a(s, 84696351) & 0xfffff)) % MOD;
}

export function addHash(sum: number, h: number): number {
  return (sum + h) % MOD;
}

/** Entries are grouped by the first two characters of their name. */
export function bucketOf(name: string): string {
  return name.slice(0, 2);
}
