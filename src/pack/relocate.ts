// `mcm relocate`: points the group files of a cache that was copied or moved
// by other means at where their kernels are now. Plan, then apply file by file
// (temp file + rename), so a reader sees the old group file or the new one.
import { lstatSync, readdirSync } from "node:fs";
import { dirname } from "node:path";
import { writeFileAtomic } from "../atomic-write.js";
import type { ScanWarning } from "../core/types.js";
import { failpoint } from "../failpoint.js";
import { plural } from "../report/format.js";
import { CAPS, inRealFolder, readPlainText } from "../safe-fs.js";
import { GROUP_RE, relocateGroup } from "../scan/group.js";
import { cacheEntryFiles, embeddedCodeRoots, rewriteEntry } from "./inductor-paths.js";
import { vllmIndexIn } from "./vllm-index.js";

export interface RelocateEntry {
  /**
   * a Triton group file; vLLM's vllm_compile_cache.py (its handles' artifact paths);
   * an Inductor FX-graph or AOTAutograd entry (its autotuners' code paths, pickled)
   */
  kind: "group" | "vllm-index" | "inductor-entry";
  /** the kernel folder (vLLM: the compile folder; Inductor: its cache root) */
  kernel: string;
  groupFile: string;
  /** child paths this rewrite changes */
  rewritten: number;
  /** child paths it leaves: outside the kernel, or naming a file the folder lacks */
  left: number;
  /** the group file as read when planning, and as it will be (an Inductor entry: the sha256 it was read with; made again) */
  before: string;
  after: string;
}

export interface RelocatePlan {
  entries: RelocateEntry[];
  groupFiles: number;
  /** vllm_compile_cache.py files among the entries */
  vllmIndexFiles: number;
  /** Inductor cache entries among them */
  inductorEntries: number;
  paths: number;
  left: number;
  /** entries that could not be read or walked */
  warnings: ScanWarning[];
}

export const emptyPlan = (): RelocatePlan => ({
  entries: [],
  groupFiles: 0,
  vllmIndexFiles: 0,
  inductorEntries: 0,
  paths: 0,
  left: 0,
  warnings: [],
});

export interface RelocateResult {
  groupFiles: number;
  vllmIndexFiles: number;
  inductorEntries: number;
  paths: number;
  /** the paths in Inductor entries among them */
  inductorPaths: number;
  /** group files that changed on disk after the plan was made: left as they are */
  skipped: { path: string; reason: string }[];
}

/** Plans the rewrite of the group files of `kernels` (kernel folders, absolute). */
export function planRelocate(kernels: string[]): RelocatePlan {
  const plan = emptyPlan();
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
        before = readPlainText(groupFile, CAPS.groupBytes); // never a link, FIFO or device planted there
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

/**
 * Adds to `plan` each FX-graph and AOTAutograd entry of `roots` (Inductor cache
 * roots) whose pickled code paths name another root.
 */
export function planInductorEntries(plan: RelocatePlan, roots: string[]): void {
  for (const root of roots) {
    for (const file of cacheEntryFiles(root)) {
      const r = rewriteEntry(file, root, plan.warnings);
      if (!r) continue;
      plan.entries.push({
        kind: "inductor-entry",
        kernel: root,
        groupFile: file,
        rewritten: r.paths,
        left: 0,
        before: r.digest,
        after: "",
      });
      plan.inductorEntries++;
      plan.paths += r.paths;
    }
  }
}

/**
 * Replaces `path` with `data` only while every folder from `root` down to it is
 * a real folder (no link swapped in since the plan); the reason when not.
 */
function replaceInRoot(root: string, path: string, data: string | Buffer): string | null {
  const st = lstatSync(path, { throwIfNoEntry: false });
  if (!st?.isFile()) return "no longer a regular file";
  const done = inRealFolder(root, dirname(path), () => writeFileAtomic(path, data, st.mode & 0o777));
  return done.done ? null : `its folder is no longer a real folder inside ${root}`;
}

/** Rewrites one Inductor entry when it is still what the plan read; the reason when not. */
function applyInductorEntry(e: RelocateEntry, root: string): string | null {
  const warnings: ScanWarning[] = [];
  const r = rewriteEntry(e.groupFile, e.kernel, warnings);
  if (!r) return warnings[0]?.message ?? "changed since the plan was made";
  if (r.digest !== e.before) return "changed since the plan was made";
  return replaceInRoot(root, e.groupFile, Buffer.from(r.data.buffer, r.data.byteOffset, r.data.length));
}

/** Writes the plan's files (all under `root`), each through a temp file beside it and a rename. */
export function applyRelocate(plan: RelocatePlan, root: string): RelocateResult {
  const result: RelocateResult = {
    groupFiles: 0,
    vllmIndexFiles: 0,
    inductorEntries: 0,
    paths: 0,
    inductorPaths: 0,
    skipped: [],
  };
  for (const e of plan.entries) {
    if (e.kind === "inductor-entry") {
      failpoint("relocate.before-write");
      const why = applyInductorEntry(e, root);
      if (why) result.skipped.push({ path: e.groupFile, reason: why });
      else {
        result.inductorEntries++;
        result.paths += e.rewritten;
        result.inductorPaths += e.rewritten;
      }
      continue;
    }
    failpoint("relocate.before-write");
    let now: string;
    try {
      now = readPlainText(e.groupFile, e.kind === "group" ? CAPS.groupBytes : CAPS.jsonBytes);
    } catch (err) {
      result.skipped.push({ path: e.groupFile, reason: `cannot read: ${(err as Error).message}` });
      continue;
    }
    const why = now !== e.before ? "changed since the plan was made" : replaceInRoot(root, e.groupFile, e.after);
    if (why) {
      result.skipped.push({ path: e.groupFile, reason: why });
      continue;
    }
    if (e.kind === "vllm-index") result.vllmIndexFiles++;
    else result.groupFiles++;
    result.paths += e.rewritten;
  }
  return result;
}

/**
 * After an import: each vllm_compile_cache.py of `compileDirs` pointed at its
 * artifacts, and each entry of `inductorRoots` at its own root.
 */
export function relocateImported(root: string, compileDirs: string[], inductorRoots: string[]): RelocateResult {
  const plan = emptyPlan();
  planVllmIndex(plan, compileDirs);
  planInductorEntries(plan, inductorRoots);
  return applyRelocate(plan, root);
}

/** What relocateImported() did, as lines for a person. */
export function describeImportedMoves(r: RelocateResult, dest: string): string[] {
  const lines: string[] = [];
  if (r.vllmIndexFiles) lines.push(`${plural(r.vllmIndexFiles, "vllm_compile_cache.py file")} pointed at ${dest}`);
  if (r.inductorEntries) {
    lines.push(
      `${plural(r.inductorEntries, "Inductor cache entry")} (${plural(r.inductorPaths, "autotuner path")}) pointed at ${dest}`,
    );
  }
  for (const s of r.skipped) lines.push(`not rewritten ${s.path}: ${s.reason}`);
  return lines;
}

/** Code paths mcm leaves as they are: their root, and how many artifacts name it. */
export interface UnrewrittenRoot {
  root: string;
  artifacts: number;
}

/**
 * The roots outside `cacheRoot` that the autotuners inside vLLM's binary
 * artifacts and AOT models name (`files`): mcm does not rewrite those, and
 * Inductor reads and writes .best_config files there.
 */
export function unrewrittenRoots(
  units: { path: string; format: string }[],
  cacheRoot: string,
  warnings: ScanWarning[],
): UnrewrittenRoot[] {
  const by = new Map<string, number>();
  // unpacked units are folders of Inductor entries, read by Inductor from where they are
  for (const f of units.filter((u) => u.format !== "unpacked").map((u) => u.path)) {
    for (const r of embeddedCodeRoots(f, warnings)) {
      if (r === cacheRoot || r.startsWith(`${cacheRoot}/`)) continue;
      by.set(r, (by.get(r) ?? 0) + 1);
    }
  }
  return [...by].map(([root, artifacts]) => ({ root, artifacts })).sort((a, b) => b.artifacts - a.artifacts);
}

/** One line per root mcm left: what the runtime will do there. */
export function describeUnrewritten(roots: UnrewrittenRoot[]): string[] {
  return roots.map(
    (r) =>
      `not rewritten: ${plural(r.artifacts, "vLLM artifact")} name autotuner paths under ${r.root} (inside CRC-framed artifacts, which mcm does not rewrite); Inductor reads and writes .best_config files there`,
  );
}
