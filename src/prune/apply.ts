// The only code that deletes. It reads the plan a page at a time from the
// plan table (db/prune-plan.ts), so a plan of a million kernels is never held
// in memory; a dry run never comes here (the plan is the whole answer).
//
// Triton has no locks, so removal is made safe by its order (as git's prune
// expiry and RCU do): first the cache stops pointing at what will go (the
// group file is rewritten without it), then one grace period lets the readers
// that had already looked finish, then only what nobody wrote since goes.
import { randomBytes } from "node:crypto";
import { linkSync, lstatSync, realpathSync, renameSync, rmdirSync, unlinkSync } from "node:fs";
import { dirname } from "node:path";
import { BACKENDS } from "../backends/index.js";
import { McmError } from "../core/errors.js";
import type { ScanWarning } from "../core/types.js";
import { failpoint } from "../failpoint.js";
import { GROUP_RE } from "../scan/group.js";
import { errorCode, isInside, warn } from "../scan/util.js";
import { pidAlive } from "./lock.js";
import type { PlanEntry } from "./plan.js";
import { sameContent } from "./same-content.js";
import { Trash } from "./trash.js";
import {
  changedSince,
  entryId,
  type FolderState,
  folderState,
  groupFiles,
  listedIn,
  newestWrite,
  republishUnits,
  unpublish,
  unpublishUnits,
  writerPids,
} from "./unpublish.js";

/** The plan as applyPlan reads it (db/prune-plan.ts's PlanTable): a page of entries at a time. */
export interface PlanPages {
  /** the entries in plan order; with `held`, only those step 1 passed on, with the state it saw */
  entryPages(held?: boolean): Iterable<{ seq: number; entry: PlanEntry; state: string | null }[]>;
  /** keeps what step 1 saw of each folder until step 3, out of memory */
  hold(states: [seq: number, state: string][]): void;
}

/** What changed in one kernel folder, so that the index can follow without re-reading. */
export interface Change {
  path: string;
  gone: boolean;
  removedFiles: string[];
}

export interface ApplyOptions {
  /** how long readers that saw the old group files get to finish; one wait for the whole plan */
  graceMs: number;
  /** a folder written this recently may be a compile in flight (its stages are written one by one): left alone */
  inFlightMs: number;
  /** the cache roots in scope: a hard link's target must be a file of one of them */
  roots: string[];
  /** called with each page's changes as it is done: the index follows as the prune goes */
  follow?: (changes: Change[]) => void;
}

export interface ApplyResult {
  kernels: number;
  files: number;
  bytes: number;
  warnings: ScanWarning[];
}

/** An entry after its first step: what its folder held once unpublished. */
interface Unpublished {
  e: PlanEntry;
  state: FolderState;
}

/** Step 3's work on a page: the changes it made, for the index. */
type Tally = ApplyResult & { changes: Change[] };

export const DEFAULT_GRACE_MS = 2000;
export const DEFAULT_IN_FLIGHT_MS = 60_000;

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

/** Why a folder must not be touched now, or null. */
function busy(state: FolderState, now: number, inFlightMs: number): string | null {
  const live = writerPids(state.keys()).find(pidAlive);
  if (live !== undefined) return `a Triton process (pid ${live}) is writing it; left alone`;
  if (now - newestWrite(state) < inFlightMs)
    return "written since the plan was made: a compile may be in flight; left alone";
  return null;
}

export async function applyPlan(plan: PlanPages, opts: ApplyOptions): Promise<ApplyResult> {
  const result: Tally = { kernels: 0, files: 0, bytes: 0, warnings: [], changes: [] };
  const follow = () => {
    if (result.changes.length) opts.follow?.(result.changes);
    result.changes = [];
  };
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
  const guarded = (e: PlanEntry, step: () => void) => {
    try {
      step();
    } catch (err) {
      if (err instanceof McmError) throw err;
      result.warnings.push(warn(e.path, errorCode(err), `not pruned: ${(err as Error).message}`));
    }
  };

  // 1. unpublish: rewrite each group file without what goes (hard links need no step: the path never goes)
  let waiting = 0;
  const now = Date.now();
  for (const page of plan.entryPages()) {
    const held: [number, string][] = [];
    for (const { seq, entry: e } of page) {
      if (!folderOk(e, result.warnings, realParent)) continue;
      guarded(e, () => {
        if (e.action === "link-files" || e.action === "link-units") {
          linkFiles(e, result, opts.roots);
          return;
        }
        if (e.action === "remove-files") e.files.forEach(assertRemovable);
        const state = folderState(e.path);
        const why = busy(state, now, opts.inFlightMs);
        if (why) {
          result.warnings.push(warn(e.path, "changed", why));
          return;
        }
        if (groupFiles(state).length === 0 && e.action === "remove-files") {
          result.warnings.push(warn(e.path, "changed", "no group file: nothing Triton reads; left alone"));
          return;
        }
        if (e.action === "remove-unit") unpublishUnits(e.path, state);
        else unpublish(e.path, state, e.action === "remove-kernel" ? "all" : e.files);
        held.push([seq, JSON.stringify([...state])]);
      });
    }
    plan.hold(held);
    waiting += held.length;
    follow();
  }

  // 2. one grace period for the whole plan: readers that read the old group files finish their reads
  if (waiting && opts.graceMs > 0) await new Promise((r) => setTimeout(r, opts.graceMs));

  // 3. remove only what nobody wrote since it was unpublished
  const trashes = new Map<string, Trash>();
  try {
    for (const page of plan.entryPages(true)) {
      for (const { entry: e, state } of page) {
        const u: Unpublished = { e, state: new Map(JSON.parse(state as string)) as FolderState };
        guarded(e, () => {
          if (e.action === "remove-kernel" || e.action === "remove-unit") removeKernel(u, result, trashes);
          else removeFiles(u, result);
        });
      }
      follow();
    }
  } finally {
    for (const t of trashes.values()) {
      const why = t.empty();
      if (why) result.warnings.push(warn(t.path, "permission", why));
    }
  }
  const { changes: _, ...done } = result;
  return done;
}

function removeKernel(u: Unpublished, r: Tally, trashes: Map<string, Trash>): void {
  const { e } = u;
  const leaveAlone = (why: string) => {
    if (e.action === "remove-unit") republishUnits(e.path);
    r.warnings.push(warn(e.path, "changed", `${why}: a compile; left alone`));
  };
  const changed = changedSince(u.state, folderState(e.path));
  if (changed.length) {
    leaveAlone(`written since it was unpublished (${changed[0]})`);
    return;
  }
  let trash = trashes.get(e.root);
  if (!trash) {
    trash = Trash.make(e.root);
    trashes.set(e.root, trash);
  }
  failpoint("prune.before-trash");
  const name = `${e.hash}.${randomBytes(4).toString("hex")}`;
  // group files first: a kill part way leaves no group file beside a kernel missing its binary
  const names = [...u.state.keys()].sort((a, b) => Number(GROUP_RE.test(b)) - Number(GROUP_RE.test(a)));
  const taken = trash.takeEntries(e.path, names, name, (n, moved) => sameEntry(u.state, n, moved));
  failpoint("prune.trashed");
  // rmdir never takes a folder a writer put anything in since the check (its temp folder, a file)
  if (!taken.complete || !removeEmptyFolder(e.path)) {
    trash.putBack(taken, e.path);
    leaveAlone("written while it was being removed");
    return;
  }
  if (e.action === "remove-unit") removeEmptyParents(e.path, e.root);
  r.changes.push({ path: e.path, gone: true, removedFiles: e.files });
  r.kernels++;
  r.files += e.files.length;
  r.bytes += e.bytes;
}

/** The entry moved to `moved` is the one `state` saw as `name` (not one a writer put since). */
function sameEntry(state: FolderState, name: string, moved: string): boolean {
  const st = lstatSync(moved, { throwIfNoEntry: false });
  return st !== undefined && entryId(st) === state.get(name)?.id;
}

/** rmdir: false when the folder is not empty; true when it went, or another process took it already. */
function removeEmptyFolder(dir: string): boolean {
  try {
    rmdirSync(dir);
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOTEMPTY" || code === "EEXIST") return false;
    if (code === "ENOENT") return true;
    throw err;
  }
}

function removeFiles(u: Unpublished, r: Tally): void {
  const { e } = u;
  const now = folderState(e.path);
  // a compile that published the files again since: they are in use
  const republished = groupFiles(now).flatMap((g) => listedIn(`${e.path}/${g}`, e.files));
  if (republished.length) {
    r.warnings.push(warn(e.path, "changed", `its group file lists ${republished[0]} again: a compile; left alone`));
    return;
  }
  const written = changedSince(u.state, now);
  if (written.length) {
    // a compile writes a kernel's files one by one and reads them all back at the end: leave all of them
    r.warnings.push(warn(e.path, "changed", `written since it was unpublished (${written[0]}): a compile; left alone`));
    return;
  }
  const removed: string[] = [];
  e.files.forEach((f, i) => {
    const p = `${e.path}/${f}`;
    if (!now.has(f)) {
      r.warnings.push(warn(p, "vanished", "vanished before it was pruned"));
      return;
    }
    try {
      // a symlink goes itself, its target is never touched; a folder is refused (EISDIR)
      unlinkSync(p);
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

function linkFiles(e: PlanEntry, r: Tally, roots: string[]): void {
  let linked = 0;
  for (const step of e.links ?? []) {
    const p = `${e.path}/${step.file}`;
    const a = lstatSync(step.target, { throwIfNoEntry: false });
    const b = lstatSync(p, { throwIfNoEntry: false });
    if (!a?.isFile() || !b?.isFile() || a.size !== b.size || !roots.some((root) => isInside(root, step.target))) {
      r.warnings.push(warn(p, "changed", "changed since the plan was made; not linked"));
      continue;
    }
    if (a.ino === b.ino && a.dev === b.dev) continue;
    if (!sameContent(step.target, p)) {
      r.warnings.push(warn(p, "changed", "its bytes differ from its twin's now; not linked"));
      continue;
    }
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
    linked++;
    r.files++;
    r.bytes += b.size;
  }
  if (linked) {
    r.kernels++;
    r.changes.push({ path: e.path, gone: false, removedFiles: [] });
  }
}

/** A rank or hash folder left empty by removing its compile folders goes too (rmdir: never a full one). */
function removeEmptyParents(path: string, root: string): void {
  for (let dir = dirname(path); isInside(root, dir) && dir !== root && !dir.endsWith("/torch_compile_cache"); ) {
    try {
      rmdirSync(dir);
    } catch {
      return;
    }
    dir = dirname(dir);
  }
}
