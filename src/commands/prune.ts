import { lstatSync } from "node:fs";
import { parseDuration } from "../core/duration.js";
import { McmError } from "../core/errors.js";
import type { KernelFilters } from "../core/filters.js";
import { parseWholeNumber } from "../core/flags.js";
import { parseSize } from "../core/size.js";
import type { KernelFile, KernelRow, ScanWarning } from "../core/types.js";
import { UnitStore } from "../db/units.js";
import { clearLeftovers } from "../leftovers.js";
import { verbosity } from "../log.js";
import { applyPlan, DEFAULT_GRACE_MS, DEFAULT_IN_FLIGHT_MS } from "../prune/apply.js";
import { findDuplicates } from "../prune/fingerprint.js";
import { lockRoot, nestedLockDirs, pidAlive } from "../prune/lock.js";
import {
  type Candidate,
  finish,
  type PrunePlan,
  planDeduplicate,
  planFull,
  planIrOnly,
  planMaxSize,
} from "../prune/plan.js";
import { planUnitLinks, planUnitsFull, planUnitsStale, type UnitPlan } from "../prune/units-plan.js";
import { writerPids } from "../prune/unpublish.js";
import { confirm, requireConfirmable } from "../report/confirm.js";
import { plural, shortHash, size } from "../report/format.js";
import { table } from "../report/table.js";
import { indexRoot } from "../scan/indexer.js";
import {
  type Context,
  type FilterOptions,
  freshIndex,
  type GlobalOptions,
  openContext,
  parseFilters,
  reportWarnings,
  scopedRoots,
} from "./context.js";

export interface PruneOptions extends FilterOptions {
  full?: boolean;
  stale?: boolean;
  deduplicate?: boolean;
  link?: boolean;
  asm?: boolean;
  maxSize?: string;
  keepRecent?: string;
  grace?: string;
  dryRun?: boolean;
  yes?: boolean;
  json?: boolean;
}

const SHOWN = 50;
const LSTAT = { throwIfNoEntry: false } as const;

function checkFlags(o: PruneOptions): void {
  const modes = [
    o.full && "--full",
    o.stale && "--stale",
    o.deduplicate && "--deduplicate",
    o.maxSize !== undefined && "--max-size",
  ].filter(Boolean);
  if (modes.length > 1) throw new McmError(`${modes.join(" and ")} cannot be combined: pick one mode`);
  if (o.link && !o.deduplicate) throw new McmError("--link goes with --deduplicate");
  if (o.asm && modes.length) throw new McmError("--asm goes with the default IR-only mode");
  requireConfirmable("prune", o);
}

/** The pid of a running Triton writer inside the kernel folder, if any. */
function liveWriter(files: { name: string }[]): number | null {
  return writerPids(files.map((f) => f.name)).find(pidAlive) ?? null;
}

/** MCM_IN_FLIGHT_MS: how recent a write means a compile may be in flight (default a minute). */
function inFlightWindow(): number {
  const v = process.env.MCM_IN_FLIGHT_MS;
  if (v === undefined || v === "") return DEFAULT_IN_FLIGHT_MS;
  return parseWholeNumber("MCM_IN_FLIGHT_MS (milliseconds)", v);
}

function buildPlan(
  ctx: Context,
  o: PruneOptions,
  filters: KernelFilters,
  warnings: ScanWarning[],
  filesOf: Map<string, KernelFile[]>,
  inFlightMs: number,
): PrunePlan {
  const now = Date.now();
  const protect = {
    now,
    keepRecentMs: o.keepRecent !== undefined ? parseDuration(o.keepRecent) : undefined,
    inFlightMs,
  };
  const candidates: Candidate[] = ctx.db.queryKernels({ ...filters, onDisk: true }).map((k: KernelRow) => {
    const files = filesOf.get(k.path) ?? [];
    return { ...k, files, liveWriter: liveWriter(files) };
  });
  // vLLM compile units are chosen by where they are and their age, never by what kernels they embed
  const store = new UnitStore(ctx.db);
  const byKernel = ["name", "backend", "arch", "tritonVersion", "hitsBelow", "hitsAbove"] as const;
  const unitsInScope =
    byKernel.some((f) => filters[f] !== undefined) ||
    (filters.mode !== undefined && filters.mode !== "auto" && filters.mode !== "vllm")
      ? []
      : store.units(filters.cacheDir);
  const withUnits = (plan: PrunePlan, units: UnitPlan) =>
    finish(plan.mode, [...plan.entries, ...units.entries], [...plan.skipped, ...units.skipped]);
  if (o.full) return withUnits(planFull(candidates, protect), planUnitsFull(unitsInScope, { ...protect, ...filters }));
  if (o.stale)
    return withUnits(
      finish("stale", [], []),
      planUnitsStale(unitsInScope, store.compileDirs(filters.cacheDir), protect),
    );
  if (o.maxSize !== undefined) return planMaxSize(candidates, parseSize(o.maxSize), protect);
  if (o.deduplicate) {
    const groups = findDuplicates(candidates, o.link === true, warnings);
    const plan = planDeduplicate(groups, { ...protect, link: o.link === true });
    return o.link ? withUnits(plan, planUnitLinks(unitsInScope, protect)) : plan;
  }
  return planIrOnly(candidates, { ...protect, asm: o.asm === true });
}

function describe(plan: PrunePlan): string {
  const where = [
    plan.kernels || !plan.units ? plural(plan.kernels, "kernel") : "",
    plan.units ? plural(plan.units, "compile folder") : "",
  ]
    .filter(Boolean)
    .join(" and ");
  const what =
    plan.mode === "ir-only"
      ? `remove ${plural(plan.files, "file")} from ${where}`
      : plan.entries.some((e) => e.links)
        ? `hard-link ${plural(plan.files, "duplicate file")} in ${where}`
        : `remove ${where} (${plural(plan.files, "file")})`;
  return `Plan (${plan.mode}): ${what}, freeing ${size(plan.bytes)}`;
}

/** With several cache roots in scope, the table names each kernel's root. */
function printPlan(ctx: Context, plan: PrunePlan, showRoot: boolean): void {
  const shown = verbosity() >= 1 ? plan.entries : plan.entries.slice(0, SHOWN);
  if (shown.length) {
    const rootCol = (r: string) => (showRoot ? [r] : []);
    ctx.out(
      table(
        ["ACTION", "HASH", "NAME", ...rootCol("ROOT"), "FILES", "SIZE", "REASON"],
        shown.map((e) => [
          e.action,
          shortHash(e.hash),
          e.name,
          ...rootCol(e.root),
          e.links ? e.links.length : e.files.length,
          size(e.bytes),
          e.reason,
        ]),
        showRoot ? [4, 5] : [3, 4],
      ),
    );
  }
  if (plan.entries.length > shown.length)
    ctx.out(`... and ${plan.entries.length - shown.length} more (-v shows all, --json lists all)`);
  for (const s of plan.skipped) ctx.out(ctx.colors.yellow(`skipped ${shortHash(s.hash)}: ${s.reason}`));
  ctx.out(ctx.colors.bold(describe(plan)));
}

export async function run(o: PruneOptions, g: GlobalOptions): Promise<number> {
  checkFlags(o);
  const filters = parseFilters(o);
  if (o.maxSize !== undefined) parseSize(o.maxSize);
  if (o.keepRecent !== undefined) parseDuration(o.keepRecent);
  const graceMs = o.grace !== undefined ? parseDuration(o.grace) : DEFAULT_GRACE_MS;
  const inFlightMs = inFlightWindow();
  const ctx = openContext(g);
  await freshIndex(ctx, filters.cacheDir, filters.mode);
  const roots = scopedRoots(ctx, filters.cacheDir);

  const releases: (() => void)[] = [];
  try {
    if (!o.dryRun) for (const r of roots) releases.push(await lockRoot(r.path));
    const warnings: ScanWarning[] = [];
    for (const r of roots) {
      // an earlier prune killed mid-way: its trash holds only whole kernels
      if (!o.dryRun) {
        const { cleared, failed } = clearLeftovers(r.path);
        if (cleared.some((l) => l.kind === "trash"))
          process.stderr.write(`finished an interrupted prune of ${r.path}\n`);
        for (const f of failed) warnings.push({ path: r.path, code: "permission", message: f });
      }
      // the plan is made from the disk as it is now, not from an older index
      await indexRoot(ctx.db, r.path, { mode: r.layout, progress: process.stderr.isTTY === true });
    }
    const filesOf = ctx.db.kernelFilesFor(filters);
    const plan = buildPlan(ctx, o, filters, warnings, filesOf, inFlightMs);
    const report = (applied: boolean, freed: unknown) => ({
      mode: plan.mode,
      kernels: plan.kernels,
      units: plan.units,
      files: plan.files,
      bytes: plan.bytes,
      applied,
      dryRun: o.dryRun === true,
      entries: plan.entries,
      skipped: plan.skipped,
      freed,
      warnings,
    });
    if (plan.entries.length === 0) {
      if (o.json) ctx.json(report(false, null));
      else for (const sk of plan.skipped) ctx.out(ctx.colors.yellow(`skipped ${shortHash(sk.hash)}: ${sk.reason}`));
      reportWarnings(warnings);
      // nothing to do is success: a nightly prune under `set -e` passes on a quiet night
      process.stderr.write("nothing to prune\n");
      return 0;
    }
    if (!o.json) printPlan(ctx, plan, roots.length > 1);
    if (o.dryRun) {
      const checked = await applyPlan(plan, { dryRun: true, graceMs, inFlightMs, roots: roots.map((r) => r.path) });
      warnings.push(...checked.warnings);
      if (o.json) ctx.json(report(false, null));
      else ctx.out("Dry run: nothing was changed.");
      reportWarnings(warnings);
      return 0;
    }
    if (!o.yes && !(await confirm(o.json ? describe(plan) : "Proceed?"))) {
      if (o.json) ctx.json(report(false, null));
      process.stderr.write("Aborted: nothing was changed.\n");
      return 1;
    }
    // caches inside the roots in scope (a parent named with --cache-dir) keep their own locks
    const inScope = (p: string) => roots.some((r) => p !== r.path && p.startsWith(`${r.path}/`));
    const nested = new Set([...ctx.db.rootsFor(undefined).map((r) => r.path), ...nestedLockDirs(plan.entries)]);
    for (const dir of [...nested].filter(inScope).sort()) {
      if (lstatSync(dir, LSTAT)?.isDirectory()) releases.push(await lockRoot(dir));
    }
    const done = await applyPlan(plan, { dryRun: false, graceMs, inFlightMs, roots: roots.map((r) => r.path) });
    warnings.push(...done.warnings);
    // the index follows the disk: what the plan changed directly, then a cheap incremental check
    ctx.db.followPrune(
      done.changes.map((c) => ({ ...c, dirMtime: c.gone ? null : (lstatSync(c.path, LSTAT)?.mtimeMs ?? null) })),
      filesOf,
    );
    for (const r of roots) await indexRoot(ctx.db, r.path, { mode: r.layout });
    const freed = { kernels: done.kernels, files: done.files, bytes: done.bytes };
    if (o.json) ctx.json(report(true, freed));
    else {
      const verb = plan.entries.some((e) => e.links) ? "Linked" : "Removed";
      const what = plan.units && !plan.kernels ? "compile folder" : plan.units ? "kernel or compile folder" : "kernel";
      ctx.out(`${verb} ${plural(done.files, "file")} in ${plural(done.kernels, what)}: ${size(done.bytes)} freed.`);
    }
    reportWarnings(warnings);
    return 0;
  } finally {
    for (const release of releases) release();
  }
}
