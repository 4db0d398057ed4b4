// Pure planning: which kernels and files a prune touches, and why. No I/O here.
import type { KernelFile, KernelRow } from "../core/types.js";

export type PruneMode = "ir-only" | "full" | "deduplicate" | "max-size" | "stale";
/** remove-unit and link-units act on vLLM compile units (prune/units-plan.ts) */
export type PlanAction = "remove-files" | "remove-kernel" | "link-files" | "remove-unit" | "link-units";

export const isUnitAction = (a: PlanAction) => a === "remove-unit" || a === "link-units";

export interface Candidate extends KernelRow {
  files: KernelFile[];
  /** pid of a live Triton writer inside the folder, if any */
  liveWriter: number | null;
}

export interface LinkStep {
  /** file name inside the duplicate's folder */
  file: string;
  /** the identical file it becomes a hard link to */
  target: string;
}

export interface PlanEntry {
  hash: string;
  name: string;
  path: string;
  root: string;
  action: PlanAction;
  /** names of the files removed (remove-files), or every file (remove-kernel) */
  files: string[];
  /** their sizes when the plan was made */
  sizes: number[];
  links?: LinkStep[];
  bytes: number;
  reason: string;
}

export interface SkippedEntry {
  hash: string;
  path: string;
  root: string;
  reason: string;
}

export interface PrunePlan {
  mode: PruneMode;
  kernels: number;
  /** compile folders removed or linked (vLLM) */
  units: number;
  files: number;
  bytes: number;
  entries: PlanEntry[];
  skipped: SkippedEntry[];
}

export interface ProtectOptions {
  now: number;
  /** --keep-recent: kernels used or written within this many ms are kept */
  keepRecentMs?: number;
  /** kernels written within this many ms may still be compiling (Triton writes a kernel file by file): kept */
  inFlightMs?: number;
}

/** Last use when hit data exists, else when it was written. */
export function lastUse(k: KernelRow): number {
  return k.lastAccess ?? k.modifiedTime;
}

export const writerReason = (pid: number) => `a Triton process (pid ${pid}) is writing this kernel`;
export const inFlightReason = (inFlightMs: number) =>
  `written in the last ${Math.round(inFlightMs / 1000)} s: a compile may still be writing it`;
export const KEEP_RECENT_REASON = "used or written recently (--keep-recent)";

/** Why a kernel is kept, first match wins (db/plan-sql.ts applies the same rules in SQL). */
function protectedReason(k: Candidate, o: ProtectOptions): string | null {
  if (k.liveWriter !== null) return writerReason(k.liveWriter);
  if (o.inFlightMs !== undefined && o.now - k.modifiedTime < o.inFlightMs) return inFlightReason(o.inFlightMs);
  if (o.keepRecentMs !== undefined && o.now - lastUse(k) < o.keepRecentMs) return KEEP_RECENT_REASON;
  return null;
}

export function finish(mode: PruneMode, entries: PlanEntry[], skipped: SkippedEntry[]): PrunePlan {
  const units = entries.filter((e) => isUnitAction(e.action)).length;
  return {
    mode,
    kernels: entries.length - units,
    units,
    files: entries.reduce((n, e) => n + (e.links ? e.links.length : e.files.length), 0),
    bytes: entries.reduce((n, e) => n + e.bytes, 0),
    entries,
    skipped,
  };
}

function base(k: Candidate) {
  return { hash: k.key, name: k.name, path: k.path, root: k.root };
}

function wholeKernel(k: Candidate, reason: string): PlanEntry {
  return {
    ...base(k),
    action: "remove-kernel",
    files: k.files.map((f) => f.name),
    sizes: k.files.map((f) => f.size),
    bytes: k.files.reduce((n, f) => n + f.size, 0),
    reason,
  };
}

/** One kernel's part of a plan: an entry, a kernel kept and why, or nothing. */
export type Step = PlanEntry | SkippedEntry | null;

export const isSkipped = (s: PlanEntry | SkippedEntry): s is SkippedEntry => !("action" in s);

/** Plans made one kernel at a time (prune streams candidates through these); `finish` sums the steps. */
function collect(mode: PruneMode, steps: Iterable<Step>): PrunePlan {
  const entries: PlanEntry[] = [];
  const skipped: SkippedEntry[] = [];
  for (const s of steps) if (s) (isSkipped(s) ? skipped : entries).push(s);
  return finish(mode, entries, skipped);
}

function kept(k: Candidate, reason: string): SkippedEntry {
  return { hash: k.key, path: k.path, root: k.root, reason };
}

export const irOnlyReason = (asm: boolean) =>
  asm ? "IR and assembly are not needed for a hit" : "IR is not needed for a hit";
export const FULL_REASON = "matches the filters (--full)";

/** Default mode: the IR Triton does not need for a hit; with `asm`, the assembly too. */
export function irOnlyStep(k: Candidate, o: ProtectOptions & { asm: boolean }): Step {
  const files = k.files.filter((f) => f.kind === "ir" || (o.asm && f.kind === "asm"));
  if (files.length === 0) return null;
  const why = protectedReason(k, o);
  if (why) return kept(k, why);
  return {
    ...base(k),
    action: "remove-files",
    files: files.map((f) => f.name),
    sizes: files.map((f) => f.size),
    bytes: files.reduce((n, f) => n + f.size, 0),
    reason: irOnlyReason(o.asm),
  };
}

export function planIrOnly(kernels: Candidate[], o: ProtectOptions & { asm: boolean }): PrunePlan {
  return collect(
    "ir-only",
    kernels.map((k) => irOnlyStep(k, o)),
  );
}

/** --full: every matching kernel, whole. */
export function fullStep(k: Candidate, o: ProtectOptions): Step {
  const why = protectedReason(k, o);
  return why ? kept(k, why) : wholeKernel(k, FULL_REASON);
}

export function planFull(kernels: Candidate[], o: ProtectOptions): PrunePlan {
  return collect(
    "full",
    kernels.map((k) => fullStep(k, o)),
  );
}

/**
 * --max-size, one kernel at a time: per cache root, evicts whole kernels until
 * the root's kernels (`rootBytes`) fit in `maxBytes`. Kernels must come root by
 * root, least recently used first (the order of `byLeastRecentUse`).
 */
export function maxSizeStepper(
  rootBytes: (root: string) => number,
  maxBytes: number,
  o: ProtectOptions,
): (k: Candidate) => Step {
  let root: string | undefined;
  let total = 0;
  return (k) => {
    if (k.root !== root) {
      root = k.root;
      total = rootBytes(root);
    }
    if (total <= maxBytes) return null;
    const why = protectedReason(k, o);
    if (why) return kept(k, why);
    total -= k.totalSize;
    return wholeKernel(
      k,
      `least recently used (${k.lastAccess !== null ? "last hit" : "written"} ${new Date(lastUse(k)).toISOString()}); cache over ${maxBytes} bytes`,
    );
  };
}

/** The order --max-size reads kernels in: root by root, least recently used first. */
export function byLeastRecentUse(a: KernelRow, b: KernelRow): number {
  return a.root.localeCompare(b.root) || lastUse(a) - lastUse(b) || a.path.localeCompare(b.path);
}

export function planMaxSize(kernels: Candidate[], maxBytes: number, o: ProtectOptions): PrunePlan {
  const totals = new Map<string, number>();
  for (const k of kernels) totals.set(k.root, (totals.get(k.root) ?? 0) + k.totalSize);
  const step = maxSizeStepper((r) => totals.get(r) ?? 0, maxBytes, o);
  return collect("max-size", [...kernels].sort(byLeastRecentUse).map(step));
}

/**
 * A group of kernels with identical binaries and metadata (but for `hash`),
 * from fingerprint.ts: from any cache root; for --link, all on one filesystem.
 */
export interface DuplicateGroup {
  kernels: Candidate[];
  /** per duplicate path: files identical to the keeper's file of the same name, not yet the same inode */
  linkable: Map<string, { file: string; size: number }[]>;
}

/** The copy a deduplication keeps: the newest, then the first path. */
export function pickKeeper<T extends KernelRow>(kernels: T[]): { keeper: T | undefined; dups: T[] } {
  const [keeper, ...dups] = [...kernels].sort(
    (a, b) => b.modifiedTime - a.modifiedTime || a.path.localeCompare(b.path),
  );
  return { keeper, dups };
}

/** The kernels of each cache root, in the order they came. */
function byRoot<T extends KernelRow>(kernels: T[]): T[][] {
  const roots = new Map<string, T[]>();
  for (const k of kernels) roots.set(k.root, [...(roots.get(k.root) ?? []), k]);
  return [...roots.values()];
}

/**
 * --deduplicate: keeps the newest of each group; removes the others, or links
 * their identical files. Each cache root is its own working set: a kernel is
 * removed only for a copy kept in its own root (a program using that root would
 * otherwise recompile it); only links, which leave every key in place, act
 * across roots.
 */
export function planDeduplicate(groups: DuplicateGroup[], o: ProtectOptions & { link: boolean }): PrunePlan {
  const entries: PlanEntry[] = [];
  const skipped: SkippedEntry[] = [];
  for (const g of groups) {
    for (const set of o.link ? [g.kernels] : byRoot(g.kernels)) {
      const { keeper, dups } = pickKeeper(set);
      if (!keeper) continue;
      for (const d of dups) {
        const why = protectedReason(d, o);
        if (why) {
          skipped.push({ hash: d.key, path: d.path, root: d.root, reason: why });
          continue;
        }
        const reason = `same binary and metadata as ${keeper.key} (${keeper.path}), which is kept`;
        if (!o.link) {
          entries.push(wholeKernel(d, reason));
          continue;
        }
        const files = g.linkable.get(d.path) ?? [];
        if (files.length === 0) continue;
        entries.push({
          ...base(d),
          action: "link-files",
          files: files.map((f) => f.file),
          sizes: files.map((f) => f.size),
          links: files.map((f) => ({ file: f.file, target: `${keeper.path}/${f.file}` })),
          bytes: files.reduce((n, f) => n + f.size, 0),
          reason,
        });
      }
    }
  }
  return finish("deduplicate", entries, skipped);
}
