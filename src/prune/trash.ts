// Whole kernels leave the cache by atomic renames of their entries into a
// trash folder on the same filesystem, then an rmdir of the emptied folder
// (which fails, leaving it, when a writer put anything there meanwhile); the
// trash is emptied afterwards. A kill at any moment leaves each kernel
// unpublished, its files in place, in the trash or split between them: a
// miss for Triton and vLLM either way.
//
// Each run makes its own trash, `.mcm-trash-<pid>-<random>`, with a mkdir that
// never follows a link, and checks before and after each rename that it is
// still that folder: a peer that plants or swaps a link there receives nothing.
import { randomBytes } from "node:crypto";
import { chmodSync, linkSync, lstatSync, mkdirSync, renameSync, unlinkSync } from "node:fs";
import { McmError } from "../core/errors.js";
import { removeRunFolder } from "../leftovers.js";
import { folderChain, inRealFolder } from "../safe-fs.js";

/** A kernel's entries in the trash: where, which, and whether all that were asked for. */
export interface Taken {
  into: string;
  names: string[];
  complete: boolean;
}

/**
 * Renames one entry; false when it is gone. Moving a folder rewrites its
 * "..", which its owner may not do to a folder it cannot write (mode 000): such
 * a folder of the user's own is opened for them first, as emptying the trash
 * would open it anyway.
 */
function moveEntry(from: string, to: string): boolean {
  try {
    renameSync(from, to);
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return false;
    if (code !== "EACCES") throw err;
    const st = lstatSync(from, { throwIfNoEntry: false });
    const uid = process.getuid?.();
    if (!st?.isDirectory() || (st.mode & 0o700) === 0o700 || (uid !== undefined && uid !== 0 && st.uid !== uid))
      throw err;
    chmodSync(from, st.mode | 0o700);
    renameSync(from, to);
    return true;
  }
}

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
   * Moves the entries `names` of the kernel folder `dir` into a folder of
   * their own in the trash, one rename each, and never the folder itself: a
   * writer may have made its temp folder in `dir` a moment ago, and its
   * os.replace out of it must still find it there. Each moved entry is checked
   * with `expected`: at the first that is not what the caller saw (a writer
   * put it since) the taking stops, `complete` false; putting back is then the
   * caller's (putBack). Refuses when the trash or `dir`'s chain is not what it
   * was; when either changed meanwhile, puts everything back and throws.
   */
  takeEntries(dir: string, names: string[], name: string, expected: (name: string, moved: string) => boolean): Taken {
    const chain = folderChain(this.root, dir);
    if (chain === null || !this.same()) {
      throw new McmError(`${dir} or ${this.path} is no longer a real folder inside ${this.root}; stopped`);
    }
    const into = `${this.path}/${name}`;
    mkdirSync(into, { mode: 0o700 });
    const taken: Taken = { into, names: [], complete: true };
    for (const n of names) {
      try {
        if (!moveEntry(`${dir}/${n}`, `${into}/${n}`)) continue; // gone already: nothing to take
      } catch (err) {
        this.putBack(taken, dir);
        throw err;
      }
      taken.names.push(n);
      if (!expected(n, `${into}/${n}`)) {
        taken.complete = false;
        break;
      }
    }
    if (!this.same() || folderChain(this.root, dir) !== chain) {
      // back the way they came, through whatever `dir` is now: what came through a swapped-in link goes back through it
      this.putBack(taken, dir, false);
      throw new McmError(`${this.path} or ${dir} was swapped while ${dir} was emptied; stopped`);
    }
    return taken;
  }

  /**
   * Puts taken entries back into `dir`, each only where nothing stands now (a
   * writer's newer file wins); with `checked`, only while `dir` is a real
   * folder inside the root.
   */
  putBack(taken: Taken, dir: string, checked = true): void {
    for (const name of taken.names.splice(0)) {
      const from = `${taken.into}/${name}`;
      const to = `${dir}/${name}`;
      const move = () => {
        if (lstatSync(from).isDirectory()) {
          if (lstatSync(to, { throwIfNoEntry: false })) return;
          renameSync(from, to);
          return;
        }
        try {
          linkSync(from, to);
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code;
          // EEXIST: a writer put a newer one there; ENOENT: the folder itself went
          if (code === "EEXIST" || code === "ENOENT") return;
          throw err;
        }
        unlinkSync(from);
      };
      if (checked) inRealFolder(this.root, dir, move);
      else move();
    }
  }

  empty(): string | null {
    return removeRunFolder(this.path);
  }
}
