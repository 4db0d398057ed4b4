// An import's archive entries (and its manifest's listings) as a tree of
// columns: each node its parent, its name, its kind, its size and sha256.
// A 100k-kernel archive is half a million nodes: as a map of whole paths to
// records it held 250 bytes a node, here it is under a hundred (the file names
// that repeat from kernel to kernel held once). A node is found by its path
// component by component; a whole path is made only when asked for.
import { McmError } from "../core/errors.js";
import { type ChildIndex, childIndex } from "./child-index.js";

/** What a node is; NONE: only implied (a folder something sits in, or a file only the manifest names). */
export const NONE = 0;
export const DIR = 1;
export const FILE = 2;
export const HARDLINK = 3;
export const SYMLINK = 4;
export type Kind = typeof NONE | typeof DIR | typeof FILE | typeof HARDLINK | typeof SYMLINK;

/** The parent of the nodes at the top. */
export const TOP = -1;

const EXEC = 1;
/** its bytes were written into the staging folder */
const STAGED = 2;
/** an archive entry stood here */
const SEEN = 4;
/** the manifest lists a file here, with its size and sha256 */
const LISTED = 8;
/** an entry's content was checked against the listing */
const MATCHED = 16;
/** left out of the import (outside its cache folder, mcm's own, refused) */
const OUT = 32;

/** Distinct names at most: a node's key is its parent and its name's number. */
const NAME_SPACE = 2 ** 24;

export class ArchiveTable {
  private parents = new Int32Array(4096);
  private nameIds = new Int32Array(4096);
  private kinds = new Uint8Array(4096);
  private flags = new Uint8Array(4096);
  private sizes = new Float64Array(4096);
  private shas = Buffer.alloc(4096 * 32);
  private n = 0;
  private readonly names: string[] = [];
  private readonly nameIndex = new Map<string, number>();
  /** (parent + 1) * NAME_SPACE + name number -> node */
  private readonly byKey = new Map<number, number>();
  /** a symbolic link's target, a group file's text (a dry run), an Inductor entry's root-free digest */
  readonly links = new Map<number, string>();
  readonly texts = new Map<number, string>();
  readonly rootFree = new Map<number, string | null>();
  /** children of each node, made once the archive is read (freeze) */
  private index: ChildIndex | null = null;

  get count(): number {
    return this.n;
  }

  private grow(): void {
    const size = this.parents.length * 2;
    const more = <T extends Int32Array | Uint8Array | Float64Array>(a: T): T => {
      const b = new (a.constructor as new (n: number) => T)(size);
      b.set(a);
      return b;
    };
    this.parents = more(this.parents);
    this.nameIds = more(this.nameIds);
    this.kinds = more(this.kinds);
    this.flags = more(this.flags);
    this.sizes = more(this.sizes);
    const shas = Buffer.alloc(size * 32);
    this.shas.copy(shas);
    this.shas = shas;
  }

  private nameNumber(name: string, add: boolean): number {
    const held = this.nameIndex.get(name);
    if (held !== undefined || !add) return held ?? -1;
    const id = this.names.length;
    if (id >= NAME_SPACE) throw new McmError(`the archive holds more than ${NAME_SPACE} distinct names`);
    this.names.push(name);
    this.nameIndex.set(name, id);
    return id;
  }

  /** The node called `name` in `parent`, if any. */
  child(parent: number, name: string): number | undefined {
    const id = this.nameNumber(name, false);
    return id < 0 ? undefined : this.byKey.get((parent + 1) * NAME_SPACE + id);
  }

  private add(parent: number, name: string): number {
    if (this.index) throw new Error("the archive table is frozen");
    const id = this.nameNumber(name, true);
    const i = this.n++;
    if (i === this.parents.length) this.grow();
    this.parents[i] = parent;
    this.nameIds[i] = id;
    this.byKey.set((parent + 1) * NAME_SPACE + id, i);
    return i;
  }

  /** The node at the clean relative path `path` ("a/b/c") under `from`, if any. */
  find(path: string, from = TOP): number | undefined {
    let node: number | undefined = from;
    let start = 0;
    for (;;) {
      const slash = path.indexOf("/", start);
      node = this.child(node, slash < 0 ? path.slice(start) : path.slice(start, slash));
      if (slash < 0 || node === undefined) return node;
      start = slash + 1;
    }
  }

  /** The node at `path` (clean), made with the folders above it (as NONE) where they are not yet. */
  ensure(path: string): number {
    let node = TOP;
    let start = 0;
    for (;;) {
      const slash = path.indexOf("/", start);
      const part = slash < 0 ? path.slice(start) : path.slice(start, slash);
      node = this.child(node, part) ?? this.add(node, part);
      if (slash < 0) return node;
      start = slash + 1;
    }
  }

  /** Does `path` go through a node an entry made something other than a folder (a file or a link)? */
  throughNonDir(path: string): boolean {
    let node: number | undefined = TOP;
    let start = 0;
    for (;;) {
      const slash = path.indexOf("/", start);
      if (slash < 0) return false;
      node = this.child(node, path.slice(start, slash));
      if (node === undefined) return false;
      const k = this.kinds[node] as number;
      if (k !== NONE && k !== DIR) return true;
      start = slash + 1;
    }
  }

  kind(i: number): Kind {
    return this.kinds[i] as Kind;
  }

  size(i: number): number {
    return this.sizes[i] as number;
  }

  name(i: number): string {
    return this.names[this.nameIds[i] as number] as string;
  }

  parent(i: number): number {
    return this.parents[i] as number;
  }

  private has(i: number, flag: number): boolean {
    return ((this.flags[i] as number) & flag) !== 0;
  }

  private set(i: number, flag: number): void {
    this.flags[i] = (this.flags[i] as number) | flag;
  }

  isExec = (i: number) => this.has(i, EXEC);
  isStaged = (i: number) => this.has(i, STAGED);
  isSeen = (i: number) => this.has(i, SEEN);
  isListed = (i: number) => this.has(i, LISTED);
  isMatched = (i: number) => this.has(i, MATCHED);
  isOut = (i: number) => this.has(i, OUT);
  setStaged = (i: number) => this.set(i, STAGED);
  setMatched = (i: number) => this.set(i, MATCHED);
  setOut = (i: number) => this.set(i, OUT);

  /** An archive entry at node `i`. */
  entry(i: number, kind: Kind, size: number, exec: boolean): void {
    this.kinds[i] = kind;
    this.sizes[i] = size;
    this.flags[i] = ((this.flags[i] as number) & (LISTED | MATCHED)) | SEEN | (exec ? EXEC : 0);
  }

  /** The manifest's listing of a file at node `i` (an entry there, if any, is checked against it by the caller). */
  list(i: number, size: number, sha256Hex: string): void {
    this.set(i, LISTED);
    if (!this.isSeen(i)) {
      this.sizes[i] = size;
      this.shas.write(sha256Hex, i * 32, "hex");
    }
  }

  /** The node's sha256 (an entry's content, else its listing's), in hex. */
  shaHex(i: number): string {
    return this.shas.toString("hex", i * 32, i * 32 + 32);
  }

  /** The node's sha256, as a view of its column (no copy). */
  sha(i: number): Uint8Array {
    return this.shas.subarray(i * 32, i * 32 + 32);
  }

  /** Does the node's sha256 equal the 32 bytes of `digest`? */
  shaEquals(i: number, digest: Uint8Array): boolean {
    return this.shas.compare(digest, 0, 32, i * 32, i * 32 + 32) === 0;
  }

  setSha(i: number, digest: Uint8Array): void {
    this.shas.set(digest, i * 32);
  }

  copySha(from: number, to: number): void {
    this.shas.copyWithin(to * 32, from * 32, from * 32 + 32);
  }

  /** The node's path from the top, or from `base` (a node above it). */
  path(i: number, base = TOP): string {
    let p = this.name(i);
    for (let up = this.parents[i] as number; up !== base && up !== TOP; up = this.parents[up] as number) {
      p = `${this.name(up)}/${p}`;
    }
    return p;
  }

  /** No more nodes: each node's children are gathered, in the order they were made. */
  freeze(): void {
    this.index = childIndex(this.parents, this.n);
  }

  /** The node's children (TOP's: the top's), once frozen. */
  children(i: number): Int32Array {
    if (!this.index) throw new Error("the archive table is not frozen yet");
    return this.index.kids.subarray(this.index.start[i + 1], this.index.start[i + 2]);
  }
}
