// What a running Triton sees of a kernel is its group file: `get_group` keeps
// the child paths that exist, then `CompiledKernel` reads each. So a prune
// first changes the group file (atomically), waits out the readers that had
// already read it, and only then removes files, and only files nobody wrote
// since. This module holds the first step and the "nobody wrote since" check.
import { lstatSync, readdirSync, readFileSync, renameSync, type Stats, utimesSync } from "node:fs";
import { writeFileAtomic } from "../atomic-write.js";
import { GROUP_RE, groupChildren, groupWithout } from "../scan/group.js";

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
  if (st) state.set(name, { id: entryId(st), mtimeMs: st.mtimeMs });
  else state.delete(name);
}

/** What tells one version of an entry from another: a writer's os.replace brings a new inode. */
export function entryId(st: Stats): string {
  return `${st.ino}:${st.size}:${st.mtimeMs}`;
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

/** A Triton writer leaves tmp.pid_<pid>_<uuid> in the folder while it writes a file: the pids in these names. */
export function writerPids(names: Iterable<string>): number[] {
  return [...names].flatMap((n) => {
    const m = /^tmp\.pid_(\d+)_/.exec(n);
    return m ? [Number(m[1])] : [];
  });
}

/** The files of `goes` that a group file still lists. */
export function listedIn(groupPath: string, goes: string[]): string[] {
  let names: string[] | null = null;
  try {
    names = groupChildren(readFileSync(groupPath, "utf8"));
  } catch {
    // unreadable: lists nothing
  }
  return goes.filter((f) => names?.includes(f));
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
    let next: string | null = null;
    try {
      next = groupWithout(readFileSync(path, "utf8"), goes);
    } catch {
      // unreadable: Triton cannot read it either
    }
    if (next === null) continue;
    const was = lstatSync(path);
    writeFileAtomic(path, next);
    // the kernel was not compiled again: keep its date, or it would look like a compile in flight
    utimesSync(path, was.atime, was.mtime);
    noteEntry(state, dir, g);
  }
}

/** vLLM loads the units a folder's vllm_compile_cache.py lists; without it, a new process compiles afresh. */
export const VLLM_INDEX = "vllm_compile_cache.py";
const VLLM_INDEX_AWAY = ".mcm-unpublished-vllm_compile_cache.py";

/** Takes a compile folder's vllm_compile_cache.py out of vLLM's sight (a rename: it can come back). */
export function unpublishUnits(dir: string, state: FolderState): void {
  if (!state.has(VLLM_INDEX)) return;
  renameSync(`${dir}/${VLLM_INDEX}`, `${dir}/${VLLM_INDEX_AWAY}`);
  noteEntry(state, dir, VLLM_INDEX);
  noteEntry(state, dir, VLLM_INDEX_AWAY);
}

/** Puts back what unpublishUnits took, unless vLLM wrote a new one meanwhile. */
export function republishUnits(dir: string): void {
  try {
    if (!lstatSync(`${dir}/${VLLM_INDEX}`, { throwIfNoEntry: false })) {
      renameSync(`${dir}/${VLLM_INDEX_AWAY}`, `${dir}/${VLLM_INDEX}`);
    }
  } catch {
    // nothing was taken
  }
}
