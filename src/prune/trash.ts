// Whole kernels leave the cache by an atomic rename into a trash folder on the
// same filesystem; the trash is emptied afterwards. A kill at any moment leaves
// each kernel either whole in place or whole in the trash.
//
// Each run makes its own trash, `.mcm-trash-<pid>-<random>`, with a mkdir that
// never follows a link, and checks before and after each rename that it is
// still that folder: a peer that plants or swaps a link there receives nothing.
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, lstatSync, mkdirSync, readdirSync, renameSync, rmSync } from "node:fs";
import { dirname } from "node:path";
import { McmError } from "../core/errors.js";
import { folderChain } from "../safe-fs.js";

export class Trash {
  private readonly id: string;

  private constructor(
    readonly root: string,
    readonly path: string,
  ) {
    const st = lstatSync(path);
    this.id = `${st.dev}:${st.ino}`;
  }

  static make(root: string): Trash {
    const path = `${root}/.mcm-trash-${process.pid}-${randomBytes(4).toString("hex")}`;
    mkdirSync(path, { mode: 0o700 }); // EEXIST on anything planted there: never followed
    return new Trash(root, path);
  }

  private same(): boolean {
    const st = lstatSync(this.path, { throwIfNoEntry: false });
    return st?.isDirectory() === true && `${st.dev}:${st.ino}` === this.id;
  }

  /**
   * Renames the folder `dir` (inside the root) into the trash; returns its new
   * path. Refuses when the trash or `dir`'s parent chain is not what it was;
   * when either changed during the rename, moves it back and throws.
   */
  take(dir: string, name: string): string {
    const parent = folderChain(this.root, dirname(dir));
    if (parent === null || !this.same()) {
      throw new McmError(`${dirname(dir)} or ${this.path} is no longer a real folder inside ${this.root}; stopped`);
    }
    const to = `${this.path}/${name}`;
    renameSync(dir, to);
    if (!this.same() || folderChain(this.root, dirname(dir)) !== parent) {
      try {
        renameSync(to, dir);
      } catch {
        // it stays where the swapped link led; the message says where it was
      }
      throw new McmError(`${this.path} or ${dirname(dir)} was swapped while ${dir} was moved; stopped`);
    }
    return to;
  }

  /** Moves a trashed folder back to where it was, when nothing stands there now. */
  giveBack(trashed: string, dir: string): boolean {
    try {
      renameSync(trashed, dir);
      return true;
    } catch {
      return false;
    }
  }

  empty(): string | null {
    return emptyTrashDir(this.path);
  }
}

/** Lets the owner remove what a mode-000 folder holds: rm cannot enter it otherwise. */
function openUp(dir: string, uid: number | undefined): void {
  const st = lstatSync(dir, { throwIfNoEntry: false });
  if (!st?.isDirectory() || (uid !== undefined && uid !== 0 && st.uid !== uid)) return;
  if ((st.mode & 0o700) !== 0o700) chmodSync(dir, st.mode | 0o700);
  for (const d of readdirSync(dir, { withFileTypes: true })) if (d.isDirectory()) openUp(`${dir}/${d.name}`, uid);
}

/** Removes one trash folder and all it holds; returns why it could not, or null. Never follows a link. */
export function emptyTrashDir(path: string): string | null {
  const st = lstatSync(path, { throwIfNoEntry: false });
  if (!st) return null;
  if (st.isFile()) {
    rmSync(path, { force: true });
    return null;
  }
  if (!st.isDirectory()) return `${path} is not a folder mcm made; left alone`;
  // rm -rf is several times faster than a walk in JS; it never follows links
  let r = spawnSync("rm", ["-rf", "--", path], { stdio: "ignore" });
  if (r.status !== 0 && lstatSync(path, { throwIfNoEntry: false })) {
    try {
      openUp(path, process.getuid?.());
    } catch {}
    r = spawnSync("rm", ["-rf", "--", path], { stdio: "ignore" });
  }
  if (lstatSync(path, { throwIfNoEntry: false })) {
    try {
      rmSync(path, { recursive: true, force: true });
    } catch (e) {
      return `cannot empty ${path}: ${(e as Error).message}`;
    }
  }
  return null;
}
