// Folders and files mcm makes for the length of one run: a prune's trash, an
// import's staging folder, a pull's download folder, temp files. Each name
// carries the pid of its process. They go when the run ends, on SIGINT and
// SIGTERM too; what a killed run (SIGKILL, a crash) left, the next run clears
// once that pid is gone, and `stats` shows.
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, lstatSync, mkdirSync, readdirSync, rmSync } from "node:fs";
import { pidAlive } from "./prune/lock.js";
import { dirNames } from "./scan/util.js";

export type LeftoverKind = "trash" | "import" | "tmp" | "pull";

export interface Leftover {
  path: string;
  kind: LeftoverKind;
}

/** `.mcm-trash` (no pid: an older mcm's), `.mcm-<kind>-<pid>-...` in a cache; `mcm-pull-<pid>-...` in the temp folder. */
const LEFTOVER_RE = /^\.?mcm-(trash|import|tmp|pull)(?:-(\d+)-.+)?$/;

/** mcm's own temporary things in `dir` whose process has ended. Links are never among them. */
export function leftovers(dir: string, alive: (pid: number) => boolean = pidAlive): Leftover[] {
  // the names that match, as they are read: a cache root may hold a million others
  const names: string[] = [];
  try {
    for (const n of dirNames(dir)) if (LEFTOVER_RE.test(n)) names.push(n);
  } catch {
    return [];
  }
  const out: Leftover[] = [];
  for (const n of names) {
    const m = LEFTOVER_RE.exec(n);
    // the pull folder lives in /tmp, without a dot; in a cache every name of mcm's starts with one
    if (!m || (m[1] === "pull") === n.startsWith(".")) continue;
    const kind = m[1] as LeftoverKind;
    if (m[2] === undefined ? kind !== "trash" : Number(m[2]) === process.pid || alive(Number(m[2]))) continue;
    const st = lstatSync(`${dir}/${n}`, { throwIfNoEntry: false });
    if (st && !st.isSymbolicLink()) out.push({ path: `${dir}/${n}`, kind });
  }
  return out;
}

/** Removes the leftovers in `dir`; returns the ones removed and why others could not be. */
export function clearLeftovers(dir: string): { cleared: Leftover[]; failed: string[] } {
  const cleared: Leftover[] = [];
  const failed: string[] = [];
  for (const l of leftovers(dir)) {
    const why = removeRunFolder(l.path);
    if (why) failed.push(why);
    else cleared.push(l);
  }
  return { cleared, failed };
}

const live = new Set<string>();

function onSignal(signal: NodeJS.Signals): void {
  for (const p of live) rmSync(p, { recursive: true, force: true });
  process.exit(signal === "SIGINT" ? 130 : 143);
}

/**
 * Makes `<parent>/<prefix>-<pid>-<random>` (mode 700; never through a link
 * planted there), removed by remove(), or on SIGINT/SIGTERM before mcm exits.
 */
export function runFolder(parent: string, prefix: string): { path: string; remove: () => void } {
  const path = `${parent}/${prefix}-${process.pid}-${randomBytes(4).toString("hex")}`;
  const forget = () => {
    live.delete(path);
    if (live.size === 0) {
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
    }
  };
  // the handlers first: a signal just after the mkdir would otherwise end mcm and leave the folder
  if (live.size === 0) {
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
  }
  live.add(path);
  try {
    mkdirSync(path, { mode: 0o700 });
  } catch (e) {
    forget();
    throw e;
  }
  return {
    path,
    remove: () => {
      rmSync(path, { recursive: true, force: true });
      forget();
    },
  };
}

/** Lets the owner remove what a mode-000 folder holds: rm cannot enter it otherwise. */
function openUp(dir: string, uid: number | undefined): void {
  const st = lstatSync(dir, { throwIfNoEntry: false });
  if (!st?.isDirectory() || (uid !== undefined && uid !== 0 && st.uid !== uid)) return;
  if ((st.mode & 0o700) !== 0o700) chmodSync(dir, st.mode | 0o700);
  for (const d of readdirSync(dir, { withFileTypes: true })) if (d.isDirectory()) openUp(`${dir}/${d.name}`, uid);
}

/** Removes one run folder (or temp file) and all it holds; returns why it could not, or null. Never follows a link. */
export function removeRunFolder(path: string): string | null {
  const st = lstatSync(path, { throwIfNoEntry: false });
  if (!st) return null;
  if (st.isFile()) {
    rmSync(path, { force: true });
    return null;
  }
  if (!st.isDirectory()) return `${path} is not a folder mcm made; left alone`;
  // rm -rf is several times faster than a walk in JS; it never follows links
  let r = spawnSync("rm", ["-rf", "--", path], { stdio: "ignore" });
  if (r.status !== 0 && lstatSync(path, { throwIfNoEntry: false })) {
    try {
      openUp(path, process.getuid?.());
    } catch {}
    r = spawnSync("rm", ["-rf", "--", path], { stdio: "ignore" });
  }
  if (lstatSync(path, { throwIfNoEntry: false })) {
    try {
      rmSync(path, { recursive: true, force: true });
    } catch (e) {
      return `cannot empty ${path}: ${(e as Error).message}`;
    }
  }
  return null;
}
