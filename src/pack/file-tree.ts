// The folders and files of a big archive as a tree of columns: each node its
// parent, its name, its size and exec bit. A million-file cache is then a few
// numbers a file and a name (the file names that repeat from kernel to kernel
// held once); a whole path is made only when asked for, one at a time.
//
// The archive's order (whole paths by their UTF-8 bytes) is a walk of the
// tree whose siblings are sorted by name, a folder's with "/" after it: no
// name holds a "/", so a folder's whole subtree sorts right after it and
// before its next sibling, exactly as the whole paths would.
import { type Dirent, readdirSync, statSync } from "node:fs";
import { McmError } from "../core/errors.js";
import { interner } from "../core/intern.js";
import { isMcmName } from "../scan/util.js";
import { childIndex } from "./child-index.js";
import { skipReason } from "./collect.js";
import { compareWhereDiffer } from "./name-order.js";

const DIR = 1;
const EXEC = 2;
/** The parent of the nodes at the top. */
export const TOP = -1;

/** Where a walk left something out: its path relative to the walked folder, and why. */
export type SkipSink = (rel: string, reason: string) => void;

export class FileTree {
  private parents = new Int32Array(4096);
  private sizes = new Float64Array(4096);
  private flags = new Uint8Array(4096);
  private readonly names: string[] = [];
  private readonly intern = interner();
  /** folders made by dir(path), by path: what later paths name as their parent */
  private readonly byPath = new Map<string, number>();
  /** plain files the walks found, and their bytes (with `stat`) */
  files = 0;
  bytes = 0;

  get count(): number {
    return this.names.length;
  }

  isDir(i: number): boolean {
    return ((this.flags[i] as number) & DIR) !== 0;
  }

  isExec(i: number): boolean {
    return ((this.flags[i] as number) & EXEC) !== 0;
  }

  size(i: number): number {
    return this.sizes[i] as number;
  }

  name(i: number): string {
    return this.names[i] as string;
  }

  parent(i: number): number {
    return this.parents[i] as number;
  }

  setFile(i: number, size: number, exec: boolean): void {
    this.sizes[i] = size;
    this.flags[i] = exec ? EXEC : 0;
  }

  add(parent: number, name: string, dir: boolean, size = 0, exec = false): number {
    const i = this.names.length;
    if (i === this.parents.length) this.grow();
    this.parents[i] = parent;
    this.sizes[i] = size;
    this.flags[i] = (dir ? DIR : 0) | (exec ? EXEC : 0);
    // a folder's name (a hash) seldom repeats: only files' names are interned
    this.names.push(dir ? name : this.intern(name));
    return i;
  }

  private grow(): void {
    const n = this.parents.length * 2;
    const parents = new Int32Array(n);
    parents.set(this.parents);
    this.parents = parents;
    const sizes = new Float64Array(n);
    sizes.set(this.sizes);
    this.sizes = sizes;
    const flags = new Uint8Array(n);
    flags.set(this.flags);
    this.flags = flags;
  }

  /** The folder `path` was made by dir(): its node. */
  private folder(path: string): number {
    if (path === "") return TOP;
    const i = this.byPath.get(path);
    if (i === undefined) throw new Error(`archive folder ${path}/ was not added before what it holds`);
    return i;
  }

  /**
   * A folder at `path` ("a/b/c"), inside a folder an earlier dir() made; its
   * node. `named`: later paths may name it as their folder (a kernel folder
   * a walk fills need not be: a million of them would each hold a path).
   */
  dir(path: string, named = true): number {
    if (this.byPath.has(path)) throw new McmError(`archive entry twice: ${path}/`);
    const slash = path.lastIndexOf("/");
    const i = this.add(this.folder(path.slice(0, Math.max(0, slash))), path.slice(slash + 1), true);
    if (named) this.byPath.set(path, i);
    return i;
  }

  /** The folder dir(path) made, or a new one there (its own folder made first, the same way). */
  folderAt(path: string): number {
    const held = this.byPath.get(path);
    if (held !== undefined) return held;
    const slash = path.lastIndexOf("/");
    if (slash > 0) this.folderAt(path.slice(0, slash));
    return this.dir(path);
  }

  /** A file at `path`, inside a folder an earlier dir() made; its node. */
  file(path: string, size: number): number {
    const slash = path.lastIndexOf("/");
    return this.add(this.folder(path.slice(0, Math.max(0, slash))), path.slice(slash + 1), false, size);
  }

  /**
   * Every plain file and folder under `abs` into the folder `node`, skipping
   * what skipReason names (mcm's own files silently) and whatever is not a
   * plain file or folder (a link is never followed). With `stat`, each file's
   * size and exec bit are read now.
   */
  walk(abs: string, node: number, skipped: SkipSink, stat: boolean, rel = ""): void {
    let list: Dirent[];
    try {
      list = readdirSync(abs, { withFileTypes: true });
    } catch (e) {
      throw new McmError(`cannot read ${abs}: ${(e as Error).message}`);
    }
    for (const d of list) {
      const why = skipReason(d.name);
      if (why) {
        if (!isMcmName(d.name)) skipped(rel === "" ? d.name : `${rel}/${d.name}`, why);
      } else if (d.isDirectory()) {
        const sub = this.add(node, d.name, true);
        this.walk(`${abs}/${d.name}`, sub, skipped, stat, rel === "" ? d.name : `${rel}/${d.name}`);
      } else if (d.isFile()) {
        this.files++;
        if (!stat) {
          this.add(node, d.name, false);
          continue;
        }
        const st = statSync(`${abs}/${d.name}`);
        this.add(node, d.name, false, st.size, (st.mode & 0o100) !== 0);
        this.bytes += st.size;
      } else {
        const what = d.isSymbolicLink() ? "a symbolic link (never followed)" : "not a plain file";
        skipped(rel === "" ? d.name : `${rel}/${d.name}`, what);
      }
    }
  }

  /** The node's path from the top ("a/b/c"; a folder's without "/"). */
  path(i: number): string {
    let p = this.names[i] as string;
    for (let up = this.parents[i] as number; up !== TOP; up = this.parents[up] as number) {
      p = `${this.names[up]}/${p}`;
    }
    return p;
  }

  /** Every node, in the archive's order. */
  order(): Int32Array {
    const n = this.count;
    // children of each node as ranges of `kids`, by the parent's slot (TOP's is 0)
    const { start, kids } = childIndex(this.parents, n);
    const cmp = (a: number, b: number) =>
      compareSiblings(this.names[a] as string, this.isDir(a), this.names[b] as string, this.isDir(b));
    for (let s = 0; s <= n; s++) {
      if ((start[s + 1] as number) - (start[s] as number) > 1) kids.subarray(start[s], start[s + 1]).sort(cmp);
    }
    // depth first, with a stack of the [next, end) ranges of kids still to visit
    const out = new Int32Array(n);
    let k = 0;
    const ranges: number[] = [start[0] as number, start[1] as number];
    while (ranges.length > 0) {
      const top = ranges.length - 2;
      const next = ranges[top] as number;
      if (next === ranges[top + 1]) {
        ranges.length = top;
        continue;
      }
      ranges[top] = next + 1;
      const node = kids[next] as number;
      out[k++] = node;
      if (this.isDir(node)) ranges.push(start[node + 1] as number, start[node + 2] as number);
    }
    return out;
  }

  /** `nodes` (default: every node in the archive's order) with their paths, a folder's path made once for its files. */
  *withPaths(nodes: Iterable<number> = this.order()): Generator<{ node: number; path: string }> {
    let parent = TOP;
    let prefix = "";
    for (const node of nodes) {
      const up = this.parents[node] as number;
      if (up !== parent) {
        parent = up;
        prefix = up === TOP ? "" : `${this.path(up)}/`;
      }
      yield { node, path: `${prefix}${this.names[node]}` };
    }
  }
}

/** compareUtf8 of two names in one folder, a folder's taken with "/" after it. */
export function compareSiblings(a: string, aDir: boolean, b: string, bDir: boolean): number {
  const c = compareWhereDiffer(a, b);
  if (c !== 0) return c;
  // one name starts the other: what follows the shorter is "/" for a folder, nothing for a file;
  // "/" sorts before every code unit but ASCII's first 47, and after them, in UTF-8 as in UTF-16
  const n = Math.min(a.length, b.length);
  if (a.length === b.length) return Number(aDir) - Number(bDir);
  if (a.length < b.length) return aDir ? 0x2f - b.charCodeAt(n) : -1;
  return bDir ? a.charCodeAt(n) - 0x2f : 1;
}
