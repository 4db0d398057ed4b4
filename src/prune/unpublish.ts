// What a running Triton sees of a kernel is its group file: `get_group` keeps
// the child paths that exist, then `CompiledKernel` reads each. So a prune
// first changes the group file (atomically), waits out the readers that had
// already read it, and only then removes files, and only files nobody wrote
// since. This module holds the first step and the "nobody wrote since" check.
import { lstatSync, readdirSync, readFileSync, utimesSync } from "node:fs";
import { writeFileAtomic } from "../atomic-write.js";
import { GROUP_RE } from "../scan/group.js";

/** What a kernel folder held at one moment: each entry's inode, size and mtime. */
export type FolderState = Map<string, { id: string; mtimeMs: number }>;

export function folderState(dir: string): FolderState {
  const state: FolderState = new Map();
  for (const name of readdirSync(dir)) noteEntry(state, dir, name);
  return state;
}

/** Records (or forgets, when it is gone) one entry of `dir` in `state`. */
export function noteEntry(state: FolderState, dir: string, name: string): void {
  const st = lstatSync(`${dir}/${name}`, { throwIfNoEntry: false });
  if (st) state.set(name, { id: `${st.ino}:${st.size}:${st.mtimeMs}`, mtimeMs: st.mtimeMs });
  else state.delete(name);
}

export function newestWrite(state: FolderState): number {
  return Math.max(0, ...[...state.values()].map((s) => s.mtimeMs));
}

/** Names added, removed or rewritten between two states of one folder. */
export function changedSince(before: FolderState, now: FolderState): string[] {
  const changed = [...now].filter(([name, v]) => before.get(name)?.id !== v.id).map(([name]) => name);
  return [...changed, ...[...before.keys()].filter((name) => !now.has(name))];
}

export function groupFiles(state: FolderState): string[] {
  return [...state.keys()].filter((f) => GROUP_RE.test(f));
}

/** A Triton writer leaves tmp.pid_<pid>_<uuid> in the folder while it writes a file. */
export function writerPids(state: FolderState): number[] {
  return [...state.keys()].flatMap((n) => {
    const m = /^tmp\.pid_(\d+)_/.exec(n);
    return m ? [Number(m[1])] : [];
  });
}

type Children = Record<string, unknown> | unknown[];

function readChildren(path: string): { doc: Record<string, unknown>; children: Children } | null {
  try {
    const doc = JSON.parse(readFileSync(path, "utf8")) as Record<string, unknown>;
    const children = doc?.child_paths;
    if (children && typeof children === "object") return { doc, children: children as Children };
  } catch {
    // unreadable or malformed: treated as no group
  }
  return null;
}

/** The files of `goes` that a group file still lists (3.x dict keys or 2.x list names). */
export function listedIn(groupPath: string, goes: string[]): string[] {
  const g = readChildren(groupPath);
  if (!g) return [];
  const names = Array.isArray(g.children) ? g.children : Object.keys(g.children);
  return goes.filter((f) => names.includes(f));
}

/**
 * Rewrites each group file of `dir` (as `state` lists them) without the
 * entries of `goes`, keeping every other entry (and its absolute path) as it
 * is; `goes` = "all" leaves an empty group, which Triton reads as a miss and
 * recompiles. `state` follows the rewritten files.
 */
export function unpublish(dir: string, state: FolderState, goes: string[] | "all"): void {
  for (const g of groupFiles(state)) {
    const path = `${dir}/${g}`;
    const read = readChildren(path);
    if (!read) continue;
    const keep = (name: string) => goes !== "all" && !goes.includes(name);
    const children = Array.isArray(read.children)
      ? read.children.filter((c) => typeof c === "string" && keep(c))
      : Object.fromEntries(Object.entries(read.children).filter(([name]) => keep(name)));
    const was = lstatSync(path);
    writeFileAtomic(path, JSON.stringify({ ...read.doc, child_paths: children }));
    // the kernel was not compiled again: keep its date, or it would look like a compile in flight
    utimesSync(path, was.atime, was.mtime);
    noteEntry(state, dir, g);
  }
}
