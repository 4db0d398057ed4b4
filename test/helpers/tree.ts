import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { lstatSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

/** How many items fall under each key. */
export function counts<T>(items: T[], key: (t: T) => string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const i of items) out[key(i)] = (out[key(i)] ?? 0) + 1;
  return out;
}

/** The sha256 of every file under `dir` by its path relative to it, and how many distinct inodes hold them. */
export function fileDigests(dir: string): { files: Record<string, string>; inodes: number } {
  const files: Record<string, string> = {};
  const inodes = new Set<number>();
  const walk = (rel: string) => {
    for (const e of readdirSync(join(dir, rel), { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(r);
      else {
        files[r] = createHash("sha256")
          .update(readFileSync(join(dir, r)))
          .digest("hex");
        inodes.add(lstatSync(join(dir, r)).ino);
      }
    }
  };
  walk("");
  return { files, inodes: inodes.size };
}

/** Every file under `dir` with its size, sorted: a cheap picture of a cache. */
export function snapshot(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const n of readdirSync(d)) {
      const p = join(d, n);
      const st = lstatSync(p);
      if (st.isDirectory()) walk(p);
      else out.push(`${p.slice(dir.length + 1)} ${st.size}`);
    }
  };
  walk(dir);
  return out.sort();
}

/** Kernel folders (real folders with a group file) directly under `dir`. */
export function kernelFolders(dir: string): string[] {
  return readdirSync(dir).filter((k) => {
    try {
      if (!lstatSync(join(dir, k)).isDirectory()) return false;
      return readdirSync(join(dir, k)).some((f) => f.startsWith("__grp__"));
    } catch {
      return false;
    }
  });
}

/** `files` without vLLM's vllm_compile_cache.py (an import points its absolute paths at the destination). */
export function withoutVllmIndex(files: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(files).filter(([p]) => !p.endsWith("/vllm_compile_cache.py")));
}

/**
 * How many Inductor entries of `moved` Python's own unpickler reads as those of
 * `original`, every code path under the fixture's root pointing at `moved`
 * instead (helpers/same_pickles.py; it fails on any other difference).
 */
export function samePicklesMoved(original: string, moved: string): string {
  const script = join(import.meta.dirname, "same_pickles.py");
  return execFileSync("python3", [script, original, moved, "/tmp/mcm-fixtures/torchinductor_root", moved])
    .toString()
    .trim();
}
