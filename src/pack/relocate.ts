// `mcm relocate`: points the group files of a cache that was copied or moved
// by other means at where their kernels are now. Plan, then apply file by file
// (temp file + rename), so a reader sees the old group file or the new one.
import { lstatSync, readdirSync, readFileSync } from "node:fs";
import { writeFileAtomic } from "../atomic-write.js";
import { GROUP_RE, relocateGroup } from "../scan/group.js";
import { vllmIndexIn } from "./vllm-index.js";

export interface RelocateEntry {
  /** a Triton group file, or vLLM's vllm_compile_cache.py (its handles' artifact paths) */
  kind: "group" | "vllm-index";
  /** the kernel folder (vLLM: the compile folder) */
  kernel: string;
  groupFile: string;
  /** child paths this rewrite changes */
  rewritten: number;
  /** child paths it leaves: outside the kernel, or naming a file the folder lacks */
  left: number;
  /** the group file as read when planning, and as it will be */
  before: string;
  after: string;
}

export interface RelocatePlan {
  entries: RelocateEntry[];
  groupFiles: number;
  /** vllm_compile_cache.py files among the entries */
  vllmIndexFiles: number;
  paths: number;
  left: number;
}

export interface RelocateResult {
  groupFiles: number;
  vllmIndexFiles: number;
  paths: number;
  /** group files that changed on disk after the plan was made: left as they are */
  skipped: { path: string; reason: string }[];
}

/** Plans the rewrite of the group files of `kernels` (kernel folders, absolute). */
export function planRelocate(kernels: string[]): RelocatePlan {
  const plan: RelocatePlan = { entries: [], groupFiles: 0, vllmIndexFiles: 0, paths: 0, left: 0 };
  for (const dir of kernels) {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      continue; // gone since the index: nothing to point anywhere
    }
    const files = new Set(names);
    const key = dir.slice(dir.lastIndexOf("/") + 1);
    for (const name of names) {
      if (!GROUP_RE.test(name)) continue;
      const groupFile = `${dir}/${name}`;
      let before: string;
      try {
        before = readFileSync(groupFile, "utf8");
      } catch {
        continue;
      }
      const moved = relocateGroup(before, dir, key, (f) => files.has(f));
      if (!moved) continue;
      plan.entries.push({
        kind: "group",
        kernel: dir,
        groupFile,
        rewritten: moved.rewritten,
        left: moved.left,
        before,
        after: moved.text,
      });
      plan.groupFiles++;
      plan.paths += moved.rewritten;
      plan.left += moved.left;
    }
  }
  return plan;
}

/**
 * Adds to `plan` each vllm_compile_cache.py of `dirs` (vLLM compile folders)
 * whose artifact paths point elsewhere: vLLM loads those paths as written.
 */
export function planVllmIndex(plan: RelocatePlan, dirs: string[]): void {
  for (const dir of dirs) {
    const index = vllmIndexIn(dir);
    if (!index?.moved) continue;
    const { rewritten, left, text } = index.moved;
    plan.entries.push({
      kind: "vllm-index",
      kernel: dir,
      groupFile: index.file,
      rewritten,
      left,
      before: index.before,
      after: text,
    });
    plan.vllmIndexFiles++;
    plan.paths += rewritten;
    plan.left += left;
  }
}

/** Writes the plan's group files, each through a temp file beside it and a rename. */
export function applyRelocate(plan: RelocatePlan): RelocateResult {
  const result: RelocateResult = { groupFiles: 0, vllmIndexFiles: 0, paths: 0, skipped: [] };
  for (const e of plan.entries) {
    let now: string;
    try {
      now = readFileSync(e.groupFile, "utf8");
    } catch (err) {
      result.skipped.push({ path: e.groupFile, reason: `cannot read: ${(err as Error).message}` });
      continue;
    }
    if (now !== e.before) {
      result.skipped.push({ path: e.groupFile, reason: "changed since the plan was made" });
      continue;
    }
    writeFileAtomic(e.groupFile, e.after, lstatSync(e.groupFile).mode & 0o777);
    if (e.kind === "vllm-index") result.vllmIndexFiles++;
    else result.groupFiles++;
    result.paths += e.rewritten;
  }
  return result;
}

/** After an import into `root`: each vllm_compile_cache.py the index knows there, pointed at its artifacts. */
export function relocateVllmIndexes(dirs: string[]): number {
  const plan: RelocatePlan = { entries: [], groupFiles: 0, vllmIndexFiles: 0, paths: 0, left: 0 };
  planVllmIndex(plan, dirs);
  return applyRelocate(plan).vllmIndexFiles;
}
