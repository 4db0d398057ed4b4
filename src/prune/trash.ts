// Whole kernels leave the cache by an atomic rename into a trash folder on the
// same filesystem; the trash is emptied afterwards. A kill at any moment leaves
// each kernel either whole in place or whole in the trash.
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, rmSync } from "node:fs";

export const TRASH = ".mcm-trash";

export function trashDir(root: string): string {
  return `${root}/${TRASH}`;
}

/** Empties and removes the trash of a root; returns how many entries it held. */
export function emptyTrash(root: string): number {
  const dir = trashDir(root);
  if (!existsSync(dir)) return 0;
  const n = readdirSync(dir).length;
  // rm -rf is several times faster than a walk in JS; it never follows links
  const r = spawnSync("rm", ["-rf", "--", dir], { stdio: "ignore" });
  if (r.status !== 0 || existsSync(dir)) rmSync(dir, { recursive: true, force: true });
  return n;
}
