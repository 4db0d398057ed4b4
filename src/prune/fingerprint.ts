// Finds kernels that are truly the same: identical binary bytes and identical
// metadata apart from `hash`. Different specialisations of one kernel share a
// name and often a size, but never their binary.
import { createHash } from "node:crypto";
import { lstatSync, readFileSync } from "node:fs";
import type { ScanWarning } from "../core/types.js";
import { errorCode, warn } from "../scan/util.js";
import { type Candidate, type DuplicateGroup, pickKeeper } from "./plan.js";

function sha256(data: Buffer | string): string {
  return createHash("sha256").update(data).digest("hex");
}

function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical);
  if (v && typeof v === "object") {
    return Object.fromEntries(
      Object.keys(v as object)
        .sort()
        .map((k) => [k, canonical((v as Record<string, unknown>)[k])]),
    );
  }
  return v;
}

function fingerprint(k: Candidate, warnings: ScanWarning[]): string | null {
  const binaries = k.files.filter((f) => f.kind === "binary").sort((a, b) => a.name.localeCompare(b.name));
  const meta = k.files.find((f) => f.kind === "metadata");
  if (binaries.length === 0 || !meta) return null; // an incomplete kernel is nobody's duplicate
  try {
    const parsed = JSON.parse(readFileSync(`${k.path}/${meta.name}`, "utf8")) as Record<string, unknown>;
    delete parsed.hash;
    const h = createHash("sha256").update(JSON.stringify(canonical(parsed)));
    for (const b of binaries) h.update(b.name).update(readFileSync(`${k.path}/${b.name}`));
    return h.digest("hex");
  } catch (e) {
    warnings.push(warn(k.path, errorCode(e), `cannot fingerprint: ${(e as Error).message}`));
    return null;
  }
}

/** Files of `dup` identical to the keeper's file of the same name, and not already the same inode. */
function linkableFiles(keeper: Candidate, dup: Candidate, warnings: ScanWarning[]) {
  const out: { file: string; size: number }[] = [];
  for (const f of dup.files) {
    const mine = keeper.files.find((x) => x.name === f.name);
    if (!mine || mine.size !== f.size) continue;
    const a = `${keeper.path}/${f.name}`;
    const b = `${dup.path}/${f.name}`;
    try {
      const sa = lstatSync(a);
      const sb = lstatSync(b);
      if (!sa.isFile() || !sb.isFile()) continue;
      if (sa.dev !== sb.dev || sa.ino === sb.ino) continue; // no hard link across filesystems; or linked already
      if (sha256(readFileSync(a)) === sha256(readFileSync(b))) out.push({ file: f.name, size: f.size });
    } catch (e) {
      warnings.push(warn(b, errorCode(e), `cannot compare with ${a}: ${(e as Error).message}`));
    }
  }
  return out;
}

/** Hard links stay on one filesystem: the kernels of each, apart. */
function byFilesystem(kernels: Candidate[], warnings: ScanWarning[]): Candidate[][] {
  const sets = new Map<number, Candidate[]>();
  for (const k of kernels) {
    try {
      const dev = lstatSync(k.path).dev;
      sets.set(dev, [...(sets.get(dev) ?? []), k]);
    } catch (e) {
      warnings.push(warn(k.path, errorCode(e), `cannot compare: ${(e as Error).message}`));
    }
  }
  return [...sets.values()];
}

/** The cheap first cut: only kernels sharing name, backend and binary sizes can be the same. */
export function bucketKey(k: Candidate): string {
  const sizes = k.files
    .filter((f) => f.kind === "binary")
    .map((f) => `${f.name}:${f.size}`)
    .sort()
    .join(",");
  return `${k.backend}\0${k.name}\0${sizes}`;
}

/**
 * Groups of identical kernels, from every root given: planDeduplicate decides
 * what may act across roots. With `link`, each group is on one filesystem and
 * knows which files of each copy are identical to its keeper's.
 */
export function findDuplicates(kernels: Candidate[], link: boolean, warnings: ScanWarning[]): DuplicateGroup[] {
  const buckets = new Map<string, Candidate[]>();
  for (const k of kernels) {
    const key = bucketKey(k);
    const bucket = buckets.get(key);
    if (bucket) bucket.push(k);
    else buckets.set(key, [k]);
  }
  return [...buckets.values()].flatMap((b) => duplicatesIn(b, link, warnings));
}

/** The groups of identical kernels among one bucket (kernels of one bucketKey). */
export function duplicatesIn(bucket: Candidate[], link: boolean, warnings: ScanWarning[]): DuplicateGroup[] {
  if (bucket.length < 2) return [];
  const groups: DuplicateGroup[] = [];
  const byPrint = new Map<string, Candidate[]>();
  for (const k of bucket) {
    const fp = fingerprint(k, warnings);
    if (fp) byPrint.set(fp, [...(byPrint.get(fp) ?? []), k]);
  }
  for (const identical of byPrint.values()) {
    for (const same of link ? byFilesystem(identical, warnings) : [identical]) {
      if (same.length < 2) continue;
      const linkable = new Map<string, { file: string; size: number }[]>();
      if (link) {
        const { keeper, dups } = pickKeeper(same);
        if (keeper) for (const d of dups) linkable.set(d.path, linkableFiles(keeper, d, warnings));
      }
      groups.push({ kernels: same, linkable });
    }
  }
  return groups;
}
