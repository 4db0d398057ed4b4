// Makes a prune plan into the plan table, one page of candidates at a time,
// and shows it: the table, the totals (from SQL), the JSON report (streamed).
import { parseDuration } from "../core/duration.js";
import type { KernelFilters } from "../core/filters.js";
import { parseSize } from "../core/size.js";
import type { KernelFile, ScanWarning } from "../core/types.js";
import {
  type CandidateOrder,
  type CandidateRow,
  candidateAt,
  iterateCandidates,
  withWriterFiles,
} from "../db/candidates.js";
import { kernelStepsSelect, type SqlStepOptions } from "../db/plan-sql.js";
import { PlanTable, type PlanTotals } from "../db/prune-plan.js";
import { UnitStore } from "../db/units.js";
import { verbosity } from "../log.js";
import { bucketKey, duplicatesIn } from "../prune/fingerprint.js";
import { pidAlive } from "../prune/lock.js";
import {
  type Candidate,
  maxSizeStepper,
  type PlanEntry,
  planDeduplicate,
  type SkippedEntry,
  type Step,
  writerReason,
} from "../prune/plan.js";
import { planUnitLinks, planUnitsFull, planUnitsStale, type UnitPlan } from "../prune/units-plan.js";
import { writerPids } from "../prune/unpublish.js";
import { plural, shortHash, size } from "../report/format.js";
import { StreamedArray, writeJsonObject } from "../report/stream.js";
import { streamTable } from "../report/table.js";
import type { Context } from "./context.js";

export interface PlanOptions {
  full?: boolean;
  stale?: boolean;
  deduplicate?: boolean;
  link?: boolean;
  asm?: boolean;
  maxSize?: string;
  keepRecent?: string;
}

const SHOWN = 50;

/** The pid of a running Triton writer inside the kernel folder, if any. */
function liveWriter(files: KernelFile[]): number | null {
  return writerPids(files.map((f) => f.name)).find(pidAlive) ?? null;
}

const candidate = (k: CandidateRow): Candidate => {
  const c = k as Candidate;
  c.liveWriter = liveWriter(k.files);
  return c;
};

/** vLLM compile units are chosen by where they are and their age, never by what kernels they embed. */
function unitsInScope(store: UnitStore, filters: KernelFilters) {
  const byKernel = ["name", "backend", "arch", "tritonVersion", "hitsBelow", "hitsAbove"] as const;
  const none =
    byKernel.some((f) => filters[f] !== undefined) ||
    (filters.mode !== undefined && filters.mode !== "auto" && filters.mode !== "vllm");
  return none ? [] : store.units(filters.cacheDir);
}

/**
 * Plans the prune into a fresh plan table: kernels a page at a time (the plan
 * never holds every kernel), then vLLM's compile folders (a few per model).
 */
export function buildPlan(
  ctx: Context,
  o: PlanOptions,
  filters: KernelFilters,
  warnings: ScanWarning[],
  inFlightMs: number,
): PlanTable {
  const now = Date.now();
  const protect = {
    now,
    keepRecentMs: o.keepRecent !== undefined ? parseDuration(o.keepRecent) : undefined,
    inFlightMs,
  };
  const mode = o.full
    ? "full"
    : o.stale
      ? "stale"
      : o.maxSize !== undefined
        ? "max-size"
        : o.deduplicate
          ? "deduplicate"
          : "ir-only";
  const plan = new PlanTable(mode);
  const add = (s: Step) => s && plan.add(s);
  const addUnits = (u: UnitPlan) => [...u.entries, ...u.skipped].forEach(add);
  const store = new UnitStore(ctx.db);
  const stepThrough = (order: CandidateOrder, step: (k: Candidate) => Step) => {
    for (const k of iterateCandidates(ctx.db, filters, order, now)) add(step(candidate(k)));
  };
  if (mode === "full") {
    addKernelSteps(ctx, plan, filters, { ...protect, mode, asm: false });
    addUnits(planUnitsFull(unitsInScope(store, filters), { ...protect, ...filters }));
  } else if (mode === "stale") {
    addUnits(planUnitsStale(unitsInScope(store, filters), store.compileDirs(filters.cacheDir), protect));
  } else if (mode === "max-size") {
    const rootBytes = new Map(ctx.db.rootSizes({ ...filters, onDisk: true }, now));
    const step = maxSizeStepper((r) => rootBytes.get(r) ?? 0, parseSize(o.maxSize as string), protect);
    stepThrough("least-recent-use", step);
  } else if (mode === "deduplicate") {
    planDuplicates(ctx, plan, filters, o.link === true, protect, warnings);
    if (o.link) addUnits(planUnitLinks(unitsInScope(store, filters), protect));
  } else addKernelSteps(ctx, plan, filters, { ...protect, mode: "ir-only", asm: o.asm === true });
  plan.flush();
  return plan;
}

/** IR-only and --full, written by SQLite from the index; only kernels with a writer's files are read here. */
function addKernelSteps(ctx: Context, plan: PlanTable, filters: KernelFilters, o: SqlStepOptions): void {
  const live: [string, string][] = [];
  for (const k of withWriterFiles(ctx.db, filters, o.now)) {
    const pid = liveWriter(k.files);
    if (pid !== null) live.push([k.path, writerReason(pid)]);
  }
  plan.addFromIndex(ctx.db.path, kernelStepsSelect(filters, o), live);
}

/** Deduplication reads only the kernels that share a bucket with another, one bucket at a time. */
function planDuplicates(
  ctx: Context,
  plan: PlanTable,
  filters: KernelFilters,
  link: boolean,
  protect: { now: number; keepRecentMs?: number; inFlightMs: number },
  warnings: ScanWarning[],
): void {
  let batch: [string, string][] = [];
  for (const k of iterateCandidates(ctx.db, filters, "path", protect.now)) {
    batch.push([k.path, bucketKey(candidate(k))]);
    if (batch.length >= 2000) {
      plan.addBuckets(batch);
      batch = [];
    }
  }
  plan.addBuckets(batch);
  let bucket: Candidate[] = [];
  let key: string | undefined;
  const settle = () => {
    const p = planDeduplicate(duplicatesIn(bucket, link, warnings), { ...protect, link });
    for (const s of [...p.entries, ...p.skipped]) plan.add(s);
    bucket = [];
  };
  for (const page of plan.sharedBuckets()) {
    for (const { path, bucket: b } of page) {
      if (b !== key) settle();
      key = b;
      const k = candidateAt(ctx.db, path);
      if (k) bucket.push(candidate(k));
    }
  }
  settle();
}

export function describe(t: PlanTotals): string {
  const where = [
    t.kernels || !t.units ? plural(t.kernels, "kernel") : "",
    t.units ? plural(t.units, "compile folder") : "",
  ]
    .filter(Boolean)
    .join(" and ");
  const what =
    t.mode === "ir-only"
      ? `remove ${plural(t.files, "file")} from ${where}`
      : t.links
        ? `hard-link ${plural(t.files, "duplicate file")} in ${where}`
        : `remove ${where} (${plural(t.files, "file")})`;
  return `Plan (${t.mode}): ${what}, freeing ${size(t.bytes)}`;
}

/** The kept kernels, one line each. */
export function printSkipped(ctx: Context, plan: PlanTable): void {
  for (const text of plan.texts(true)) {
    const s = JSON.parse(text) as SkippedEntry;
    ctx.out(ctx.colors.yellow(`skipped ${shortHash(s.hash)}: ${s.reason}`));
  }
}

/** The first entries (all at -v), the kept kernels, the totals. With several roots, a ROOT column. */
export function printPlan(ctx: Context, plan: PlanTable, totals: PlanTotals, showRoot: boolean): void {
  const limit = verbosity() >= 1 ? Number.POSITIVE_INFINITY : SHOWN;
  const rootCol = (r: string) => (showRoot ? [r] : []);
  const rows = function* () {
    for (const text of plan.texts(false, limit)) {
      const e = JSON.parse(text) as PlanEntry;
      yield [
        e.action,
        shortHash(e.hash),
        e.name,
        ...rootCol(e.root),
        e.links ? e.links.length : e.files.length,
        size(e.bytes),
        e.reason,
      ];
    }
  };
  const shown = Math.min(limit, totals.entries);
  // two passes over the table's rows (widths, then lines): -v on a million entries holds none of them
  const head = ["ACTION", "HASH", "NAME", ...rootCol("ROOT"), "FILES", "SIZE", "REASON"];
  if (shown) streamTable(head, rows, showRoot ? [4, 5] : [3, 4], (text) => process.stdout.write(text));
  if (totals.entries > shown) ctx.out(`... and ${totals.entries - shown} more (-v shows all, --json lists all)`);
  printSkipped(ctx, plan);
  ctx.out(ctx.colors.bold(describe(totals)));
}

/** `prune --json`: the plan's totals, every entry and kept kernel (streamed from the table), what was freed. */
export function writeReport(
  plan: PlanTable,
  totals: PlanTotals,
  r: { applied: boolean; dryRun: boolean; freed: unknown; warnings: ScanWarning[] },
): void {
  writeJsonObject(
    [
      ["mode", totals.mode],
      ["kernels", totals.kernels],
      ["units", totals.units],
      ["files", totals.files],
      ["bytes", totals.bytes],
      ["applied", r.applied],
      ["dryRun", r.dryRun],
      ["entries", new StreamedArray(() => plan.texts(false))],
      ["skipped", new StreamedArray(() => plan.texts(true))],
      ["freed", r.freed],
      ["warnings", r.warnings],
    ],
    (text) => process.stdout.write(text),
  );
}
