// The entries of a big layer as a FileTree (a parent, a name and a few numbers
// a file) rather than a TarEntry object with its own paths each. The tar
// writer gets the entries in its order, one object at a time.
import { FileTree, TOP } from "./file-tree.js";
import type { TarEntry } from "./tar.js";

export class EntryList {
  private readonly tree = new FileTree();
  /** the folder on disk each under() read, by the node it fills */
  private readonly sources = new Map<number, string>();
  /** entries with inline data (a manifest), by node */
  private readonly inline = new Map<number, TarEntry>();

  /** plain files from disk, and their bytes */
  get files(): number {
    return this.tree.files;
  }

  get bytes(): number {
    return this.tree.bytes;
  }

  dir(name: string): void {
    this.tree.dir(name);
  }

  /** An entry whose content is made in memory when it is written (a manifest: see text-entry.ts). */
  made(entry: TarEntry & { size: number }): void {
    this.inline.set(this.tree.file(entry.name, entry.size), entry);
  }

  /** Every plain file and folder under `abs`, named `name + rel`; what the walk skips goes to `skipped`. */
  under(abs: string, name: string, skipped: { path: string; reason: string }[]): void {
    const node = this.tree.dir(name, false);
    this.sources.set(node, abs);
    this.tree.walk(abs, node, (rel, reason) => skipped.push({ path: `${abs}/${rel}`, reason }), true);
  }

  /** A written entry's name, from its `id` (what the writer links an identical file to). */
  readonly nameOf = (id: number): string => this.tree.path(id);

  /** The entries sorted as the tar writer sorts them (names' UTF-8 bytes), made one at a time. */
  *sorted(): Generator<TarEntry> {
    const tree = this.tree;
    // the folder on disk of the last file's parent: a kernel's files share it
    let parent = TOP;
    let from = "";
    for (const { node, path } of tree.withPaths()) {
      if (tree.isDir(node)) {
        yield { name: path, type: "dir" };
        continue;
      }
      const made = this.inline.get(node);
      if (made) {
        yield made;
        continue;
      }
      if (tree.parent(node) !== parent) {
        parent = tree.parent(node);
        from = this.sourceOf(parent);
      }
      const size = tree.size(node);
      const source = `${from}${path.slice(path.lastIndexOf("/"))}`;
      yield { name: path, type: "file", source, size, mode: tree.isExec(node) ? 0o755 : 0o644, id: node };
    }
  }

  /** Where on disk the folder `node` is: the folder under() read it from, and the names below that. */
  private sourceOf(node: number): string {
    let rel = "";
    for (let up = node; up !== TOP; up = this.tree.parent(up)) {
      const abs = this.sources.get(up);
      if (abs !== undefined) return `${abs}${rel}`;
      rel = `/${this.tree.name(up)}${rel}`;
    }
    throw new Error(`archive folder ${this.tree.path(node)}/ was not read from disk`);
  }
}
