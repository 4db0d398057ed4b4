import { lstatSync, readdirSync } from "node:fs";
import { join } from "node:path";

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
