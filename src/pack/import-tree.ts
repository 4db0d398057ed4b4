// The archive's tree once it is read: its table's nodes under the cache root
// it holds, less what the import leaves out (entries outside that root, mcm's
// own, links that would leave it), relative to that root.
import { lstatSync, readFileSync, readlinkSync } from "node:fs";
import { posix } from "node:path";
import { GROUP_RE } from "../scan/group.js";
import { isMcmName } from "../scan/util.js";
import { type ArchiveTable, DIR, FILE, NONE, SYMLINK, TOP } from "./archive-table.js";
import { detectRoot } from "./detect.js";
import { resolveInRoot } from "./import-links.js";
import { LSTAT } from "./import-plan.js";
import type { Stager } from "./import-stage.js";
import { MANIFEST_NAME } from "./manifest.js";

/** The archive's tree (its table's nodes that are not left out), relative to the root it holds the cache in. */
export class Tree {
  constructor(
    readonly table: ArchiveTable,
    /** the node of the cache root (TOP: the archive's top) */
    readonly base: number,
    /** where the archive's cache root was staged (null in a dry run): group files are read back from there */
    readonly stageRoot: string | null,
  ) {}

  /** The node's path relative to the root, or to `from` (a folder above it). */
  rel(node: number, from = this.base): string {
    return this.table.path(node, from);
  }

  /** The node at `rel`, when it is part of the tree. */
  node(rel: string): number | undefined {
    if (rel === "") return this.base;
    const n = this.table.find(rel, this.base);
    return n === undefined || this.table.isOut(n) ? undefined : n;
  }

  /** The node's children in the tree, in the archive's order. */
  kids(node: number): number[] {
    return [...this.table.children(node)].filter((k) => !this.table.isOut(k));
  }

  /** The node's children in the tree, by name. */
  kidsByName(node: number): number[] {
    const t = this.table;
    return this.kids(node).sort((a, b) => (t.name(a) < t.name(b) ? -1 : t.name(a) > t.name(b) ? 1 : 0));
  }

  /** A folder of the archive, or one it only implies. */
  isDir(node: number): boolean {
    const k = this.table.kind(node);
    return node === this.base || k === DIR || k === NONE;
  }

  isKernel(node: number): boolean {
    const t = this.table;
    return this.kids(node).some((c) => t.kind(c) === FILE && GROUP_RE.test(t.name(c)));
  }

  /** A group file's text: held only in a dry run, else read back from its staged copy. */
  groupText(node: number): string | undefined {
    const t = this.table;
    if (t.kind(node) !== FILE || !GROUP_RE.test(t.name(node))) return undefined;
    const held = t.texts.get(node);
    if (held !== undefined) return held;
    return t.isStaged(node) && this.stageRoot !== null
      ? readFileSync(`${this.stageRoot}/${this.rel(node)}`, "utf8")
      : undefined;
  }

  /** Every non-folder node under `node`. */
  filesUnder(node: number): number[] {
    const out: number[] = [];
    const walk = (n: number) => {
      for (const c of this.kids(n)) {
        if (this.isDir(c)) walk(c);
        else out.push(c);
      }
    };
    walk(node);
    return out;
  }

  kernelsUnder(node: number): number[] {
    const out: number[] = [];
    const walk = (n: number) => {
      if (this.isKernel(n)) out.push(n);
      for (const c of this.kids(n)) if (this.isDir(c)) walk(c);
    };
    walk(node);
    return out;
  }

  /** Every node's path relative to the root. */
  *rels(): Generator<string> {
    for (const n of this.nodes()) yield this.rel(n);
  }

  /** Every node of the tree, parents before their children. */
  *nodes(): Generator<number> {
    const walk = function* (tree: Tree, n: number): Generator<number> {
      for (const c of tree.table.children(n)) {
        if (tree.table.isOut(c)) continue;
        yield c;
        yield* walk(tree, c);
      }
    };
    yield* walk(this, this.base);
  }
}

export interface ArchiveTree {
  tree: Tree;
  /** the folder inside the archive that holds the cache ("" for its top) */
  root: string;
  /** entries left out: outside the cache folder, or mcm's own */
  ignored: string[];
  /** a folder (relative to the root) that held a refused entry */
  tainted: (rel: string) => boolean;
}

/**
 * The tree of a read archive under `givenRoot` (default: detected). Links that
 * would lead out of the destination once in place are refused here (added to
 * the stager's refusals).
 */
export function treeOf(s: Stager, givenRoot: string | undefined, stage: string | null, dest: string): ArchiveTree {
  const t = s.table;
  t.freeze();
  const root = givenRoot !== undefined ? givenRoot.split("/").filter(Boolean).join("/") : rootOf(t);
  const base = root === "" ? TOP : t.find(root);
  const tree = new Tree(t, base ?? TOP, stage ? (root ? `${stage}/${root}` : stage) : null);
  const ignored: string[] = [];
  const linkAt = linkLookup(t, base, dest);
  // what the tree leaves out: entries outside the root, mcm's own, links that would leave it
  const keep = new Uint8Array(t.count);
  for (let i = 0; i < t.count; i++) {
    const up = t.parent(i);
    const under = up === base || (up !== TOP && keep[up] === 1);
    if (!t.isSeen(i)) {
      // folders only implied: in the tree while something in them is
      keep[i] = under && !isMcmName(t.name(i)) ? 1 : 0;
      continue;
    }
    if (i === base || (up === TOP && t.name(i) === MANIFEST_NAME && s.manifest && root === "")) continue;
    const p = t.path(i);
    if (!under || isMcmName(t.name(i))) {
      ignored.push(p);
      continue;
    }
    // the archive's top was checked as it was read; the cache folder inside it may be lower
    const rel = tree.rel(i);
    if (t.kind(i) === SYMLINK && resolveInRoot(rel, t.links.get(i) as string, linkAt) === null) {
      s.refused.push({ entry: p, reason: `symbolic link leaving the destination (${t.links.get(i)})` });
      s.tainted.add(posix.dirname(p));
      continue;
    }
    keep[i] = 1;
  }
  // an implied folder stays only with something kept below it (a child comes after its parent)
  const below = new Uint8Array(t.count);
  for (let i = t.count - 1; i >= 0; i--) {
    const up = t.parent(i);
    const kept = keep[i] === 1 && (t.isSeen(i) || below[i] === 1);
    if (!kept) t.setOut(i);
    else if (up !== TOP) below[up] = 1;
  }
  const taintedRel = new Set(
    [...s.tainted].map((d) => (root === "" ? d : d.startsWith(`${root}/`) ? d.slice(root.length + 1) : null)),
  );
  return { tree, root, ignored, tainted: (rel: string) => taintedRel.has(rel) };
}

/** The archive's cache root: its top when mcm's manifest is there, else what detectRoot makes of its entries' paths. */
function rootOf(t: ArchiveTable): string {
  const manifest = t.find(MANIFEST_NAME);
  if (manifest !== undefined && t.isSeen(manifest)) return "";
  const paths: string[] = [];
  for (let i = 0; i < t.count; i++) if (t.isSeen(i)) paths.push(t.path(i));
  return detectRoot(paths);
}

/** The target of the link at `rel` once imported: the archive's own, else the destination's (null: none). */
function linkLookup(t: ArchiveTable, base: number | undefined, dest: string): (rel: string) => string | null {
  return (rel) => {
    const mine = base === undefined ? undefined : t.find(rel, base);
    if (mine !== undefined && t.isSeen(mine)) return t.kind(mine) === SYMLINK ? (t.links.get(mine) as string) : null;
    try {
      return lstatSync(`${dest}/${rel}`, LSTAT)?.isSymbolicLink() ? readlinkSync(`${dest}/${rel}`) : null;
    } catch {
      return null;
    }
  };
}
