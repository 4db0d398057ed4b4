// Whole kernels leave the cache by an atomic rename into a trash folder on the
// same filesystem; the trash is emptied afterwards. A kill at any moment leaves
// each kernel either whole in place or whole in the trash.
//
// Each run makes its own trash, `.mcm-trash-<pid>-<random>`, with a mkdir that
// never follows a link, and checks before and after each rename that it is
// still that folder: a peer that plants or swaps a link there receives nothing.
import { randomBytes } from "node:crypto";
import { lstatSync, mkdirSync, renameSync } from "node:fs";
import { dirname } from "node:path";
import { McmError } from "../core/errors.js";
import { removeRunFolder } from "../leftovers.js";
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
    return removeRunFolder(this.path);
  }
}
