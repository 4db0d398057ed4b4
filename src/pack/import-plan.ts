// An import's plan: the staged archive's tree, relative to the cache root it
// holds, against the destination as it is: which kernels and files are new,
// identical, or in conflict (left untouched).
import { createHash } from "node:crypto";
import { lstatSync, readdirSync, readFileSync } from "node:fs";
import { posix } from "node:path";
import { GROUP_RE, groupOrigin, relocateGroup } from "../scan/group.js";
import { isMcmName } from "../scan/util.js";
import { type ArchiveTable, SYMLINK } from "./archive-table.js";
import type { ImportResult } from "./import.js";
import { MAX_ENTRY_BYTES } from "./import-stage.js";
import type { Tree } from "./import-tree.js";
import { rootFreeDigest } from "./inductor-paths.js";

/** Everything under `dir` (files, links), relative to it, skipping mcm's own names. */
function destFiles(dir: string, rel = ""): string[] {
  const out: string[] = [];
  for (const d of readdirSync(rel ? `${dir}/${rel}` : dir, { withFileTypes: true })) {
    if (isMcmName(d.name)) continue;
    const r = rel ? `${rel}/${d.name}` : d.name;
    if (d.isDirectory()) out.push(...destFiles(dir, r));
    else out.push(r);
  }
  return out;
}

const sha256Of = (path: string) => createHash("sha256").update(readFileSync(path)).digest("hex");

/** A group file's content as it would read once pointed at `dir`, normalised for comparing. */
function groupAt(text: string, dir: string, exists: (f: string) => boolean): string {
  const moved = relocateGroup(text, dir, posix.basename(dir), exists)?.text ?? text;
  try {
    return JSON.stringify(JSON.parse(moved));
  } catch {
    return moved;
  }
}

export interface Unit {
  /** relative to the cache root of the archive, and to the destination */
  rel: string;
  node: number;
  kernel: boolean;
}

interface Plan {
  add: Unit[];
  result: Pick<ImportResult, "kernels" | "others">;
}

export const LSTAT = { throwIfNoEntry: false } as const;

export function planMerge(tree: Tree, dest: string, tainted: (rel: string) => boolean): Plan {
  const plan: Plan = {
    add: [],
    result: {
      kernels: { added: [], identical: [], conflicting: [] },
      others: { added: 0, identical: 0, conflicting: [] },
    },
  };
  const { kernels, others } = plan.result;
  const visit = (dir: number) => {
    for (const node of tree.kidsByName(dir)) {
      const rel = tree.rel(node);
      const st = lstatSync(`${dest}/${rel}`, LSTAT);
      const isDir = tree.isDir(node);
      if (isDir && tree.isKernel(node)) {
        if (tainted(rel)) continue;
        if (!st) {
          plan.add.push({ rel, node, kernel: true });
          kernels.added.push(rel);
        } else if (!st.isDirectory()) {
          kernels.conflicting.push({ path: rel, reason: "a file of that name is in the way" });
        } else {
          const why = compareKernel(tree, node, `${dest}/${rel}`);
          if (why === null) kernels.identical.push(rel);
          else kernels.conflicting.push({ path: rel, reason: why });
        }
      } else if (isDir) {
        if (st && !st.isDirectory()) {
          others.conflicting.push({ path: rel, reason: "a file of that name is in the way" });
        } else if (!st && !hasTaint(tree, node, tainted)) {
          plan.add.push({ rel, node, kernel: false });
          const under = tree.kernelsUnder(node);
          kernels.added.push(...under.map((k) => tree.rel(k)));
          others.added += tree.filesUnder(node).length - under.reduce((n, k) => n + tree.filesUnder(k).length, 0);
        } else visit(node);
      } else {
        if (!st) {
          plan.add.push({ rel, node, kernel: false });
          others.added++;
          continue;
        }
        if (
          st.isFile() &&
          tree.table.kind(node) !== SYMLINK &&
          sameOther(`${dest}/${rel}`, st.size, tree.table, node)
        ) {
          others.identical++;
        } else others.conflicting.push({ path: rel, reason: "a different file of that name exists" });
      }
    }
  };
  visit(tree.base);
  return plan;
}

/** The root the archive's group files point at. */
export function originOf(tree: Tree): string | null {
  const groups: { rel: string; text: string }[] = [];
  for (const node of tree.nodes()) {
    const text = tree.groupText(node);
    if (text !== undefined) groups.push({ rel: posix.dirname(tree.rel(node)), text });
  }
  return groupOrigin(groups);
}

/** Whether the destination's file holds what the archive's does (an Inductor entry: once relocated). */
function sameOther(abs: string, size: number, t: ArchiveTable, node: number): boolean {
  if (size === t.size(node) && sha256Of(abs) === t.shaHex(node)) return true;
  const rootFree = t.rootFree.get(node);
  if (!rootFree || size > MAX_ENTRY_BYTES) return false;
  return rootFreeDigest(readFileSync(abs)) === rootFree;
}

function hasTaint(tree: Tree, node: number, tainted: (rel: string) => boolean): boolean {
  return tainted(tree.rel(node)) || tree.kids(node).some((c) => tree.isDir(c) && hasTaint(tree, c, tainted));
}

/** Null when the destination's kernel folder holds the same files (group paths compared once relocated). */
function compareKernel(tree: Tree, kernel: number, destDir: string): string | null {
  const t = tree.table;
  const nodes = tree.filesUnder(kernel);
  const mine = nodes.map((n) => tree.rel(n, kernel));
  const theirs = destFiles(destDir);
  const mineSet = new Set(mine);
  const theirSet = new Set(theirs);
  const missing = mine.filter((f) => !theirSet.has(f)).length;
  const extra = theirs.filter((f) => !mineSet.has(f)).length;
  let differ = 0;
  mine.forEach((f, i) => {
    if (!theirSet.has(f)) return;
    const node = nodes[i] as number;
    const abs = `${destDir}/${f}`;
    const st = lstatSync(abs, LSTAT);
    if (!st?.isFile() || t.kind(node) === SYMLINK) {
      differ++;
      return;
    }
    const text = GROUP_RE.test(f) ? tree.groupText(node) : undefined;
    if (text !== undefined) {
      const a = groupAt(text, destDir, (x) => mineSet.has(x));
      const b = groupAt(readFileSync(abs, "utf8"), destDir, (x) => theirSet.has(x));
      if (a !== b) differ++;
    } else if (st.size !== t.size(node) || sha256Of(abs) !== t.shaHex(node)) differ++;
  });
  if (missing + extra + differ === 0) return null;
  const parts = [
    differ && `${differ} file${differ === 1 ? "" : "s"} differ`,
    missing && `${missing} missing here`,
    extra && `${extra} extra here`,
  ].filter(Boolean);
  return `already present with different content (${parts.join(", ")}); left untouched`;
}
