import { lstatSync } from "node:fs";
import { parseDuration } from "../core/duration.js";
import { McmError } from "../core/errors.js";
import { parseWholeNumber } from "../core/flags.js";
import { parseSize } from "../core/size.js";
import type { ScanWarning } from "../core/types.js";
import type { PlanTable } from "../db/prune-plan.js";
import { clearLeftovers } from "../leftovers.js";
import { applyPlan, DEFAULT_GRACE_MS, DEFAULT_IN_FLIGHT_MS } from "../prune/apply.js";
import { lockRoot, nestedLockDirs } from "../prune/lock.js";
import { releaseMemory } from "../release-memory.js";
import { confirm, requireConfirmable } from "../report/confirm.js";
import { plural, size } from "../report/format.js";
import { indexRoot } from "../scan/indexer.js";
import {
  type FilterOptions,
  freshIndex,
  type GlobalOptions,
  openContext,
  parseFilters,
  reportWarnings,
  scopedRoots,
} from "./context.js";
import { buildPlan, describe, type PlanOptions, printPlan, printSkipped, writeReport } from "./prune-plan.js";

export interface PruneOptions extends FilterOptions, PlanOptions {
  grace?: string;
  dryRun?: boolean;
  yes?: boolean;
  json?: boolean;
}

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

/** MCM_IN_FLIGHT_MS: how recent a write means a compile may be in flight (default a minute). */
function inFlightWindow(): number {
  const v = process.env.MCM_IN_FLIGHT_MS;
  if (v === undefined || v === "") return DEFAULT_IN_FLIGHT_MS;
  return parseWholeNumber("MCM_IN_FLIGHT_MS (milliseconds)", v);
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
  let plan: PlanTable | undefined;
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
    releaseMemory(); // the index's garbage, before the plan and the removals make theirs

    // fixed in a plan table before anything is shown or asked: the question and the apply see one plan
    const table = buildPlan(ctx, o, filters, warnings, inFlightMs);
    plan = table;
    const totals = table.totals();
    const report = (applied: boolean, freed: unknown) =>
      writeReport(table, totals, { applied, dryRun: o.dryRun === true, freed, warnings });
    if (totals.entries === 0) {
      if (o.json) report(false, null);
      else printSkipped(ctx, table);
      reportWarnings(warnings);
      // nothing to do is success: a nightly prune under `set -e` passes on a quiet night
      process.stderr.write("nothing to prune\n");
      return 0;
    }
    if (!o.json) printPlan(ctx, table, totals, roots.length > 1);
    if (o.dryRun) {
      // the plan is the answer: the checks made while applying (a compile that starts now) belong to the apply
      if (o.json) report(false, null);
      else ctx.out("Dry run: nothing was changed.");
      reportWarnings(warnings);
      return 0;
    }
    if (!o.yes && !(await confirm(o.json ? describe(totals) : "Proceed?"))) {
      if (o.json) report(false, null);
      process.stderr.write("Aborted: nothing was changed.\n");
      return 1;
    }
    // caches inside the roots in scope (a parent named with --cache-dir) keep their own locks
    const inScope = (p: string) => roots.some((r) => p !== r.path && p.startsWith(`${r.path}/`));
    const nested = new Set([...ctx.db.rootsFor(undefined).map((r) => r.path), ...nestedLockDirs(table.places())]);
    for (const dir of [...nested].filter(inScope).sort()) {
      if (lstatSync(dir, LSTAT)?.isDirectory()) releases.push(await lockRoot(dir));
    }
    const done = await applyPlan(table, {
      graceMs,
      inFlightMs,
      roots: roots.map((r) => r.path),
      // the index follows the disk page by page: what the plan changed directly
      follow: (changes) =>
        ctx.db.followPrune(
          changes.map((c) => ({ ...c, dirMtime: c.gone ? null : (lstatSync(c.path, LSTAT)?.mtimeMs ?? null) })),
        ),
    });
    warnings.push(...done.warnings);
    // then a cheap incremental check
    for (const r of roots) await indexRoot(ctx.db, r.path, { mode: r.layout });
    const freed = { kernels: done.kernels, files: done.files, bytes: done.bytes };
    if (o.json) report(true, freed);
    else {
      const verb = totals.links ? "Linked" : "Removed";
      const what =
        totals.units && !totals.kernels ? "compile folder" : totals.units ? "kernel or compile folder" : "kernel";
      ctx.out(`${verb} ${plural(done.files, "file")} in ${plural(done.kernels, what)}: ${size(done.bytes)} freed.`);
    }
    reportWarnings(warnings);
    return 0;
  } finally {
    plan?.close();
    for (const release of releases) release();
  }
}
