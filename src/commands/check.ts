import { cacheFacts } from "../check/cache-facts.js";
import { explainLevels, summarise } from "../check/levels.js";
import { probeHere } from "../check/probe.js";
import { type MachineFacts, type Reason, type Verdict, verdict } from "../check/usable.js";
import { NothingMatched } from "../core/errors.js";
import type { ScanWarning } from "../core/types.js";
import { plural, size } from "../report/format.js";
import { table } from "../report/table.js";
import { type GlobalOptions, indexedRoots, openContext, parseFilters } from "./context.js";

export interface CheckOptions {
  cacheDir?: string;
  python?: string;
  strict?: boolean;
  json?: boolean;
}

const STATUS_TEXT = { usable: "can hit", unusable: "cannot hit", unchecked: "not checked" } as const;
const WHAT = { nvidia: "NVIDIA GPUs", amd: "AMD GPUs", triton: "Triton version" } as const;

/** Sums kernels per distinct reason, most kernels first. */
function tally(groups: { kernels: number; reasons: Reason[] }[]) {
  const by = new Map<string, Reason & { kernels: number }>();
  for (const g of groups) {
    for (const r of g.reasons) {
      const k = `${r.code}\0${r.message}`;
      const t = by.get(k) ?? { ...r, kernels: 0 };
      t.kernels += g.kernels;
      by.set(k, t);
    }
  }
  return [...by.values()].sort((a, b) => b.kernels - a.kernels); // stable: ties keep the verdict's order
}

export async function run(o: CheckOptions, g: GlobalOptions): Promise<number> {
  const filters = parseFilters({ cacheDir: o.cacheDir });
  const ctx = openContext(g);
  // the probes run while the index refreshes
  const hereP = probeHere(o.python);
  const roots = await indexedRoots(ctx, filters);
  const here = await hereP;
  const machine: MachineFacts = here.machine;
  // the same verdicts as `mcm explain`, summed up per level
  const warnings: ScanWarning[] = [];
  const levels = roots.flatMap((r) => explainLevels(cacheFacts(ctx.db, r.path, filters, warnings), here));
  const summary = summarise(levels);

  const groups = ctx.db.kernelTargets(filters).map((t) => ({ ...t, ...verdict(t, machine) }));
  const count = (s: Verdict["status"]) => groups.filter((x) => x.status === s).reduce((n, x) => n + x.kernels, 0);
  const kernels = groups.reduce((n, x) => n + x.kernels, 0);
  const report = {
    cacheDirs: roots.map((r) => r.path),
    machine,
    kernels,
    usable: count("usable"),
    unusable: count("unusable"),
    unchecked: count("unchecked"),
    groups,
    reasons: tally(groups.filter((x) => x.status === "unusable")),
    uncheckedReasons: tally(groups.map((x) => ({ kernels: x.kernels, reasons: x.unchecked }))),
    levels,
    summary,
  };
  const code = kernels === 0 || (o.strict && report.usable < kernels) ? 1 : 0;
  if (o.json) {
    ctx.json(report);
    return code;
  }
  if (kernels === 0) throw new NothingMatched(`no kernels indexed under ${report.cacheDirs.join(", ")}`);

  const c = ctx.colors;
  ctx.out(c.bold("This machine"));
  for (const gpu of machine.gpus) ctx.out(`  GPU ${gpu.index}  ${gpu.name}  ${gpu.backend} ${gpu.arch}`);
  if (machine.gpus.length === 0) {
    ctx.out(machine.probedBackends.length ? "  no GPU found" : "  GPUs: unknown (no tool could list them)");
  }
  if (machine.triton) ctx.out(`  Triton ${machine.triton.version} (${machine.triton.python})`);
  for (const u of machine.unchecked) ctx.out(c.yellow(`  not checked: ${WHAT[u.what]}: ${u.reason}`));
  ctx.out("");
  const paint = (s: Verdict["status"]) =>
    s === "usable" ? c.green(STATUS_TEXT[s]) : s === "unusable" ? c.red(STATUS_TEXT[s]) : c.yellow(STATUS_TEXT[s]);
  ctx.out(
    table(
      ["BACKEND", "ARCH", "WARP", "TRITON", "GROUP PATHS", "KERNELS", "SIZE", "VERDICT"],
      groups.map((x) => [
        x.backend,
        x.arch,
        x.warpSize ?? "-",
        x.tritonVersion ?? "-",
        x.staleGroupPaths ? "stale" : "current",
        x.kernels,
        size(x.bytes),
        paint(x.status),
      ]),
      [5, 6],
    ),
  );
  ctx.out("");
  const line = `${report.usable} of ${plural(kernels, "kernel")} can be used here`;
  ctx.out(c.bold(report.usable === kernels ? c.green(line) : line));
  if (report.reasons.length) {
    ctx.out(`${plural(report.unusable, "kernel")} cannot hit:`);
    for (const r of report.reasons) ctx.out(`  ${plural(r.kernels, "kernel")}: ${r.message}`);
  }
  if (report.unchecked) {
    ctx.out(`${plural(report.unchecked, "kernel")} could not be checked:`);
    for (const r of tally(
      groups.filter((x) => x.status === "unchecked").map((x) => ({ ...x, reasons: x.unchecked })),
    )) {
      ctx.out(`  ${plural(r.kernels, "kernel")}: ${r.message}`);
    }
  }
  if (summary.length) {
    ctx.out("");
    ctx.out(c.bold("By level (mcm explain shows each factor):"));
    for (const line of summary) ctx.out(`  ${line}`);
  }
  return code;
}
