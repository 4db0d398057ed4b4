// `mcm explain`: why a cache will hit or recompile here, level by level, factor by factor.

import { cacheFacts } from "../check/cache-facts.js";
import { explainLevels, type HereFacts, type Level, summarise } from "../check/levels.js";
import { probeHere } from "../check/probe.js";
import type { RuntimeFacts } from "../check/runtime-facts.js";
import { McmError, NothingMatched } from "../core/errors.js";
import type { ScanWarning } from "../core/types.js";
import type { Colors } from "../report/colors.js";
import { plural } from "../report/format.js";
import { table } from "../report/table.js";
import {
  type Context,
  type GlobalOptions,
  indexedRoots,
  openContext,
  parseFilters,
  reportWarnings,
} from "./context.js";

export interface ExplainOptions {
  cacheDir?: string;
  python?: string;
  json?: boolean;
}

const TITLE = { triton: "Triton kernels", "fx-graph": "FX graphs (and their AOTAutograd entries)", vllm: "vLLM" };

function paint(c: Colors, v: string): string {
  if (v === "same" || v === "can hit") return c.green(v);
  if (v === "differs" || v === "cannot hit") return c.red(v);
  return c.yellow(v);
}

function runtimeLine(name: string, part: { version?: string | null; error?: string }): string {
  return part.error ? `${name}: not importable (${part.error})` : `${name} ${part.version ?? "?"}`;
}

export function printHere(ctx: Context, here: HereFacts): void {
  ctx.out(ctx.colors.bold("This machine"));
  for (const gpu of here.machine.gpus) ctx.out(`  GPU ${gpu.index}  ${gpu.name}  ${gpu.backend} ${gpu.arch}`);
  if (here.machine.gpus.length === 0) ctx.out("  no GPU found (or none could be listed)");
  const rt: RuntimeFacts | null = here.runtime;
  if (!rt) {
    ctx.out(ctx.colors.yellow(`  runtimes: unknown (${here.runtimeError})`));
    return;
  }
  ctx.out(`  ${rt.python.executable} (Python ${rt.python.version})`);
  ctx.out(
    `  ${[runtimeLine("Triton", rt.triton), runtimeLine("PyTorch", rt.torch), runtimeLine("vLLM", rt.vllm)].join("; ")}`,
  );
}

function printLevel(ctx: Context, l: Level): void {
  const c = ctx.colors;
  ctx.out(
    `${c.bold(`${TITLE[l.level]}: ${l.what}`)}${l.level === "triton" ? ` (${plural(l.count, "kernel")})` : ""}: ${paint(c, l.verdict)}`,
  );
  ctx.out(
    table(
      ["  FACTOR", "CACHE", "HERE", ""],
      l.factors.map((f) => [
        `  ${f.name}`,
        f.cache,
        f.here,
        paint(c, f.status) + (f.status === "unknown" && !f.decisive ? " (not decisive)" : ""),
      ]),
    ),
  );
  ctx.out(`  because: ${l.because}`);
  ctx.out("");
}

export async function run(prefix: string | undefined, o: ExplainOptions, g: GlobalOptions): Promise<number> {
  if (prefix !== undefined && !/^[A-Za-z0-9]+$/.test(prefix))
    throw new McmError(`'${prefix}' is not a hash or a prefix of one`);
  const filters = parseFilters({ cacheDir: o.cacheDir });
  const ctx = openContext(g);
  const hereP = probeHere(o.python);
  const roots = await indexedRoots(ctx, filters);
  const here = await hereP;
  const warnings: ScanWarning[] = [];
  const report = roots.map((r) => {
    const facts = cacheFacts(ctx.db, r.path, filters, warnings, prefix);
    return { cacheDir: r.path, recorded: facts.recorded !== null, levels: explainLevels(facts, here) };
  });
  reportWarnings(warnings);
  const levels = report.flatMap((r) => r.levels);
  if (levels.length === 0) {
    const what =
      prefix === undefined
        ? "no kernels, FX graphs or vLLM compile folders"
        : `nothing whose hash starts with '${prefix}'`;
    throw new NothingMatched(`${what} under ${roots.map((r) => r.path).join(", ")}`);
  }
  const summary = summarise(levels);
  if (o.json) {
    ctx.json({
      machine: here.machine,
      runtime: here.runtime,
      runtimeError: here.runtimeError,
      caches: report,
      summary,
    });
    return 0;
  }
  printHere(ctx, here);
  ctx.out("");
  for (const r of report) {
    ctx.out(ctx.colors.bold(`Cache ${r.cacheDir}`) + (r.recorded ? " (mcm-warm.json records where it was made)" : ""));
    ctx.out("");
    for (const l of r.levels) printLevel(ctx, l);
  }
  ctx.out(ctx.colors.bold("In short"));
  for (const s of summary) ctx.out(`  ${s}`);
  return 0;
}
