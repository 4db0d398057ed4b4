// The only code that deletes. A dry run walks the same lines and checks, and
// skips only the changes themselves.
import { randomBytes } from "node:crypto";
import { linkSync, lstatSync, mkdirSync, realpathSync, renameSync, unlinkSync } from "node:fs";
import { dirname } from "node:path";
import { BACKENDS } from "../backends/index.js";
import { McmError } from "../core/errors.js";
import type { ScanWarning } from "../core/types.js";
import { errorCode, isInside, warn } from "../scan/util.js";
import type { PlanEntry, PrunePlan } from "./plan.js";
import { emptyTrash, trashDir } from "./trash.js";

export interface ApplyResult {
  kernels: number;
  files: number;
  bytes: number;
  warnings: ScanWarning[];
  /** what changed, per kernel folder, so that the index can follow without re-reading */
  changes: { path: string; gone: boolean; removedFiles: string[] }[];
}

const BINARY_EXTS = new Set(BACKENDS.flatMap((b) => b.binaryExts));

/** Triton crashes when a binary goes while its metadata and group file stay: never remove those alone. */
function assertRemovable(file: string): void {
  const ext = file.slice(file.lastIndexOf(".") + 1);
  if (file.includes("/") || file === ".." || file.endsWith(".json") || BINARY_EXTS.has(ext)) {
    throw new McmError(`internal error: refusing to remove ${file} on its own`);
  }
}

/** The kernel folder is still a real folder where the plan saw it, inside its root. */
function folderOk(e: PlanEntry, warnings: ScanWarning[], realParent: (dir: string) => string): boolean {
  if (!isInside(e.root, e.path) || e.path === e.root) {
    warnings.push(warn(e.path, "outside-root", "outside its cache root; left alone"));
    return false;
  }
  const st = lstatSync(e.path, { throwIfNoEntry: false });
  if (!st) {
    warnings.push(warn(e.path, "vanished", "vanished before it was pruned"));
    return false;
  }
  if (!st.isDirectory() || realParent(dirname(e.path)) !== dirname(e.path)) {
    warnings.push(warn(e.path, "changed", "no longer a plain folder inside the cache; left alone"));
    return false;
  }
  return true;
}

export function applyPlan(plan: PrunePlan, opts: { dryRun: boolean }): ApplyResult {
  const result: ApplyResult = { kernels: 0, files: 0, bytes: 0, warnings: [], changes: [] };
  const trashRoots = new Set<string>();
  // every kernel of a Triton dir shares its parent: resolve each parent once
  const parents = new Map<string, string>();
  const realParent = (dir: string) => {
    let real = parents.get(dir);
    if (real === undefined) {
      real = realpathSync(dir);
      parents.set(dir, real);
    }
    return real;
  };
  for (const e of plan.entries) {
    if (!folderOk(e, result.warnings, realParent)) continue;
    try {
      if (e.action === "remove-kernel") removeKernel(e, opts.dryRun, result, trashRoots);
      else if (e.action === "remove-files") removeFiles(e, opts.dryRun, result);
      else linkFiles(e, opts.dryRun, result);
    } catch (err) {
      if (err instanceof McmError) throw err;
      result.warnings.push(warn(e.path, errorCode(err), `not pruned: ${(err as Error).message}`));
    }
  }
  for (const root of trashRoots) emptyTrash(root);
  return result;
}

function removeKernel(e: PlanEntry, dryRun: boolean, r: ApplyResult, trashRoots: Set<string>): void {
  if (!dryRun) {
    mkdirSync(trashDir(e.root), { recursive: true });
    renameSync(e.path, `${trashDir(e.root)}/${e.hash}.${randomBytes(4).toString("hex")}`);
    trashRoots.add(e.root);
  }
  r.changes.push({ path: e.path, gone: true, removedFiles: e.files });
  r.kernels++;
  r.files += e.files.length;
  r.bytes += e.bytes;
}

function removeFiles(e: PlanEntry, dryRun: boolean, r: ApplyResult): void {
  const removed: string[] = [];
  e.files.forEach((f, i) => {
    assertRemovable(f);
    const p = `${e.path}/${f}`;
    try {
      // a symlink goes itself, its target is never touched; a folder is refused (EISDIR)
      if (dryRun) lstatSync(p);
      else unlinkSync(p);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === "ENOENT") r.warnings.push(warn(p, "vanished", "vanished before it was pruned"));
      else if (code !== "EISDIR" && code !== "EPERM") throw err;
      return;
    }
    removed.push(f);
    r.files++;
    r.bytes += e.sizes[i] ?? 0;
  });
  if (removed.length) {
    r.kernels++;
    r.changes.push({ path: e.path, gone: false, removedFiles: removed });
  }
}

function linkFiles(e: PlanEntry, dryRun: boolean, r: ApplyResult): void {
  let linked = 0;
  for (const step of e.links ?? []) {
    const p = `${e.path}/${step.file}`;
    const a = lstatSync(step.target, { throwIfNoEntry: false });
    const b = lstatSync(p, { throwIfNoEntry: false });
    if (!a?.isFile() || !b?.isFile() || a.size !== b.size) {
      r.warnings.push(warn(p, "changed", "changed since the plan was made; not linked"));
      continue;
    }
    if (!dryRun) {
      // link to a temporary name, then rename over: the file is never missing
      const tmp = `${e.path}/.mcm-link.${randomBytes(4).toString("hex")}`;
      try {
        linkSync(step.target, tmp);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        r.warnings.push(
          warn(
            p,
            "unreadable",
            code === "EXDEV"
              ? "on another filesystem than its twin; not linked"
              : `not linked: ${(err as Error).message}`,
          ),
        );
        continue;
      }
      renameSync(tmp, p);
    }
    linked++;
    r.files++;
    r.bytes += b.size;
  }
  if (linked) {
    r.kernels++;
    r.changes.push({ path: e.path, gone: false, removedFiles: [] });
  }
}
