// An import's plan: the staged archive's tree, relative to the cache root it
// holds, against the destination as it is: which kernels and files are new,
// identical, or in conflict (left untouched).
import { createHash } from "node:crypto";
import { lstatSync, readdirSync, readFileSync } from "node:fs";
import { posix } from "node:path";
import { GROUP_RE, groupOrigin, relocateGroup } from "../scan/group.js";
import { isMcmName } from "../scan/util.js";
import type { ImportResult } from "./import.js";
import { MAX_ENTRY_BYTES, type Rec } from "./import-stage.js";
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
  kernel: boolean;
}

/** The archive's tree, relative to the root it holds the cache in. */
export class Tree {
  readonly children = new Map<string, Set<string>>();
  readonly recs = new Map<string, Rec>();
  /** where the archive's cache root was staged (null in a dry run): group files are read back from there */
  stageRoot: string | null = null;

  /** A group file's text: held only in a dry run, else read back from its staged copy. */
  groupText(rel: string): string | undefined {
    const rec = this.recs.get(rel);
    if (rec?.type !== "file" || !GROUP_RE.test(posix.basename(rel))) return undefined;
    if (rec.text !== undefined) return rec.text;
    return rec.staged && this.stageRoot !== null ? readFileSync(`${this.stageRoot}/${rel}`, "utf8") : undefined;
  }

  add(rel: string, rec: Rec): void {
    this.recs.set(rel, rec);
    let child = rel;
    while (child !== "") {
      const parent = child.includes("/") ? child.slice(0, child.lastIndexOf("/")) : "";
      let set = this.children.get(parent);
      if (!set) {
        set = new Set();
        this.children.set(parent, set);
      }
      if (set.has(child)) break;
      set.add(child);
      child = parent;
    }
  }

  isDir(rel: string): boolean {
    return rel === "" || this.children.has(rel) || this.recs.get(rel)?.type === "dir";
  }

  isKernel(rel: string): boolean {
    return [...(this.children.get(rel) ?? [])].some(
      (c) => this.recs.get(c)?.type === "file" && GROUP_RE.test(posix.basename(c)),
    );
  }

  /** Every non-folder entry under `rel`, relative to `rel`. */
  filesUnder(rel: string): string[] {
    const out: string[] = [];
    const walk = (r: string) => {
      for (const c of this.children.get(r) ?? []) {
        if (this.isDir(c)) walk(c);
        else out.push(c.slice(rel.length + 1));
      }
    };
    walk(rel);
    return out;
  }

  kernelsUnder(rel: string): string[] {
    const out: string[] = [];
    const walk = (r: string) => {
      if (this.isKernel(r)) out.push(r);
      for (const c of this.children.get(r) ?? []) if (this.isDir(c)) walk(c);
    };
    walk(rel);
    return out;
  }
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
  const visit = (dirRel: string) => {
    for (const rel of [...(tree.children.get(dirRel) ?? [])].sort()) {
      const st = lstatSync(`${dest}/${rel}`, LSTAT);
      const isDir = tree.isDir(rel);
      if (isDir && tree.isKernel(rel)) {
        if (tainted(rel)) continue;
        if (!st) {
          plan.add.push({ rel, kernel: true });
          kernels.added.push(rel);
        } else if (!st.isDirectory()) {
          kernels.conflicting.push({ path: rel, reason: "a file of that name is in the way" });
        } else {
          const why = compareKernel(tree, rel, `${dest}/${rel}`);
          if (why === null) kernels.identical.push(rel);
          else kernels.conflicting.push({ path: rel, reason: why });
        }
      } else if (isDir) {
        if (st && !st.isDirectory()) {
          others.conflicting.push({ path: rel, reason: "a file of that name is in the way" });
        } else if (!st && !hasTaint(tree, rel, tainted)) {
          plan.add.push({ rel, kernel: false });
          const under = tree.kernelsUnder(rel);
          kernels.added.push(...under);
          others.added += tree.filesUnder(rel).length - under.reduce((n, k) => n + tree.filesUnder(k).length, 0);
        } else visit(rel);
      } else {
        if (!st) {
          plan.add.push({ rel, kernel: false });
          others.added++;
          continue;
        }
        const rec = tree.recs.get(rel) as Rec;
        if (st.isFile() && rec.type !== "symlink" && sameOther(`${dest}/${rel}`, st.size, rec)) {
          others.identical++;
        } else others.conflicting.push({ path: rel, reason: "a different file of that name exists" });
      }
    }
  };
  visit("");
  return plan;
}

/** The root the archive's group files point at. */
export function originOf(tree: Tree): string | null {
  const groups = [...tree.recs.keys()].flatMap((rel) => {
    const text = tree.groupText(rel);
    return text === undefined ? [] : [{ rel: posix.dirname(rel), text }];
  });
  return groupOrigin(groups);
}

/** Whether the destination's file holds what the archive's does (an Inductor entry: once relocated). */
function sameOther(abs: string, size: number, rec: Rec): boolean {
  if (size === rec.size && sha256Of(abs) === rec.sha256) return true;
  if (!rec.rootFree || size > MAX_ENTRY_BYTES) return false;
  return rootFreeDigest(readFileSync(abs)) === rec.rootFree;
}

function hasTaint(tree: Tree, rel: string, tainted: (rel: string) => boolean): boolean {
  return tainted(rel) || [...(tree.children.get(rel) ?? [])].some((c) => tree.isDir(c) && hasTaint(tree, c, tainted));
}

/** Null when the destination's kernel folder holds the same files (group paths compared once relocated). */
function compareKernel(tree: Tree, rel: string, destDir: string): string | null {
  const mine = tree.filesUnder(rel);
  const theirs = destFiles(destDir);
  const mineSet = new Set(mine);
  const theirSet = new Set(theirs);
  const missing = mine.filter((f) => !theirSet.has(f)).length;
  const extra = theirs.filter((f) => !mineSet.has(f)).length;
  let differ = 0;
  for (const f of mine) {
    if (!theirSet.has(f)) continue;
    const rec = tree.recs.get(`${rel}/${f}`) as Rec;
    const abs = `${destDir}/${f}`;
    const st = lstatSync(abs, LSTAT);
    if (!st?.isFile() || rec.type === "symlink") {
      differ++;
      continue;
    }
    const text = GROUP_RE.test(f) ? tree.groupText(`${rel}/${f}`) : undefined;
    if (text !== undefined) {
      const a = groupAt(text, destDir, (x) => mineSet.has(x));
      const b = groupAt(readFileSync(abs, "utf8"), destDir, (x) => theirSet.has(x));
      if (a !== b) differ++;
    } else if (st.size !== rec.size || sha256Of(abs) !== rec.sha256) differ++;
  }
  if (missing + extra + differ === 0) return null;
  const parts = [
    differ && `${differ} file${differ === 1 ? "" : "s"} differ`,
    missing && `${missing} missing here`,
    extra && `${extra} extra here`,
  ].filter(Boolean);
  return `already present with different content (${parts.join(", ")}); left untouched`;
}
