// The entries of a big layer as columns (name, size, exec bit, the tree it is
// read from) rather than a TarEntry object with its own source path each: a
// million-file cache is then a name and a few numbers per file. The tar writer
// gets the entries in its order, one object at a time.
import { statSync } from "node:fs";
import { type Collected, collect } from "./collect.js";
import { compareUtf8, type TarEntry } from "./tar.js";

const DIR = -1;

export class EntryList {
  /** archive names; a folder's ends in "/", as the writer sorts it */
  private readonly names: string[] = [];
  /** a file's size, or DIR */
  private readonly sizes: number[] = [];
  /** 1 where the owner's exec bit is set */
  private readonly exec: number[] = [];
  /** index into `trees` (files read from disk), or -1 */
  private readonly tree: number[] = [];
  private readonly trees: { name: string; abs: string }[] = [];
  /** entries with inline data (a manifest), by index */
  private readonly inline = new Map<number, TarEntry>();
  files = 0;
  bytes = 0;

  dir(name: string): void {
    this.push(`${name}/`, DIR, 0, -1);
  }

  /** An entry whose content is made in memory when it is written (a manifest: see text-entry.ts). */
  made(entry: TarEntry & { size: number }): void {
    this.inline.set(this.names.length, entry);
    this.push(entry.name, entry.size, 0, -1);
  }

  /** Every plain file and folder under `abs`, named `name + rel`; what collect skips goes to `skipped`. */
  under(abs: string, name: string, skipped: { path: string; reason: string }[]): void {
    const found: Collected = { dirs: [], files: [], skipped: [] };
    collect(abs, abs, found);
    const t = this.trees.push({ name, abs }) - 1;
    this.dir(name);
    for (const d of found.dirs) this.dir(`${name}/${d}`);
    for (const { rel } of found.files) {
      const st = statSync(`${abs}/${rel}`);
      this.push(`${name}/${rel}`, st.size, st.mode & 0o100 ? 1 : 0, t);
      this.files++;
      this.bytes += st.size;
    }
    for (const x of found.skipped) skipped.push({ path: `${abs}/${x.path}`, reason: x.reason });
  }

  private push(name: string, size: number, exec: number, tree: number): void {
    this.names.push(name);
    this.sizes.push(size);
    this.exec.push(exec);
    this.tree.push(tree);
  }

  /** The entries sorted as the tar writer sorts them (names' UTF-8 bytes), made one at a time. */
  *sorted(): Generator<TarEntry> {
    const names = this.names;
    const order = Uint32Array.from(names.keys()).sort((a, b) => compareUtf8(names[a] as string, names[b] as string));
    for (const i of order) {
      const name = names[i] as string;
      const size = this.sizes[i] as number;
      const t = this.trees[this.tree[i] as number];
      if (size === DIR) yield { name, type: "dir" };
      else if (!t) yield this.inline.get(i) as TarEntry;
      else {
        const source = `${t.abs}${name.slice(t.name.length)}`;
        yield { name, type: "file", source, size, mode: this.exec[i] ? 0o755 : 0o644 };
      }
    }
  }
}
