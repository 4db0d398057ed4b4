// mcm warm: run a workload that fills a cache (vLLM in a container, or any command), then index and pack it.
import { existsSync, readdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { writeFileAtomic } from "../atomic-write.js";
import { loadConfig } from "../config.js";
import type { IndexSummary } from "../core/types.js";
import { log } from "../log.js";
import { elapsed, plural, size } from "../report/format.js";
import { redactEnv } from "../report/redact.js";
import { indexRoot } from "../scan/indexer.js";
import { VERSION } from "../version.js";
import { buildWarmManifest, WARM_MANIFEST, type WarmManifest } from "../warm/manifest.js";
import { type PackResult, packCapture } from "../warm/pack.js";
import { captureFolderName, parseWarmRequest, type WarmFlags, type WarmRequest } from "../warm/request.js";
import {
  type Captured,
  hostEnv,
  type Phase,
  pickEngine,
  planContainer,
  warmInContainer,
  warmOnHost,
} from "../warm/run.js";
import { readTokenFile } from "../warm/token-file.js";
import { type GlobalOptions, openContext, reportWarnings } from "./context.js";

export interface WarmCommandOptions extends WarmFlags {
  dryRun?: boolean;
  json?: boolean;
}

export async function run(o: WarmCommandOptions, command: string[], g: GlobalOptions): Promise<number> {
  const cfg = loadConfig().warm ?? {};
  const req = parseWarmRequest(o, command, {
    image: cfg.image,
    rocmImage: cfg.rocmImage,
    engine: cfg.engine,
    envToken: process.env.HF_TOKEN,
    readTokenFile,
    environ: process.env,
  });
  if (o.dryRun) return printPlan(req, o.json === true);

  const tty = process.stderr.isTTY === true;
  const phase: Phase = (label) => (tty ? process.stderr.write(`mcm: ${label}\n`) : log.info(label));
  const started = new Date();
  const captured =
    req.target.kind === "container"
      ? await warmInContainer(req, req.target, phase)
      : await warmOnHost(req, req.target, phase);

  phase("indexing the cache");
  const ctx = openContext(g);
  const summaries: IndexSummary[] = [];
  for (const root of captured.roots) {
    if (!existsSync(root.path) || readdirSync(root.path).length === 0) continue;
    summaries.push(await indexRoot(ctx.db, root.path, { mode: root.layout, progress: tty }));
  }
  reportWarnings(summaries.flatMap((s) => s.warnings));
  const caches = summaries.map((s) => ({
    path: relative(captured.folder, s.root),
    layout: s.layout,
    kernels: s.kernels,
    // kernels and what else the cache holds (Inductor's and vLLM's artifacts count for a warm start)
    bytes: ctx.db.rootBytes(s.root) + ctx.db.otherGroups(s.root).reduce((n, o) => n + o.bytes, 0),
  }));
  const finished = new Date();
  const manifest = manifestFor(req, captured, caches, started, finished);
  writeFileAtomic(join(captured.folder, WARM_MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`);

  let archive: PackResult | undefined;
  if (req.tarball) {
    phase(`packing ${req.output}`);
    const filled = summaries.map((s) => ({ path: s.root, layout: s.layout }));
    archive = await packCapture(captured.folder, filled, resolve(req.output));
  }
  const targets = summaries.flatMap((s) => ctx.db.kernelTargets({ cacheDir: s.root }));
  const kernels = caches.reduce((n, c) => n + c.kernels, 0);
  const bytes = caches.reduce((n, c) => n + c.bytes, 0);
  if (kernels === 0) process.stderr.write("mcm: warning: the workload wrote no kernels to the cache\n");
  const seconds = (finished.getTime() - started.getTime()) / 1000;
  if (o.json) {
    ctx.json({
      mode: req.target.kind,
      folder: captured.folder,
      manifest: join(captured.folder, WARM_MANIFEST),
      kernels,
      bytes,
      seconds: Number(seconds.toFixed(3)),
      targets: mergeTargets(targets),
      caches,
      archive: archive ?? null,
    });
    return 0;
  }
  const what = req.target.kind === "container" ? req.target.model : req.target.command.join(" ");
  ctx.out(`Warmed ${what} in ${elapsed(seconds * 1000)}: ${plural(kernels, "kernel")}, ${size(bytes)}`);
  ctx.out(`  cache  ${captured.folder}`);
  for (const t of mergeTargets(targets)) {
    ctx.out(
      `  ${t.backend} ${t.arch}${t.warpSize ? ` (warp ${t.warpSize})` : ""}: ${plural(t.kernels, "kernel")}, ${size(t.bytes)}`,
    );
  }
  if (archive) ctx.out(`  archive ${archive.path} (${size(archive.bytes)})`);
  return 0;
}

function mergeTargets(
  rows: { backend: string; arch: string; warpSize: number | null; kernels: number; bytes: number }[],
) {
  const m = new Map<string, (typeof rows)[number]>();
  for (const r of rows) {
    const k = `${r.backend}\0${r.arch}\0${r.warpSize}`;
    const prev = m.get(k);
    m.set(k, prev ? { ...prev, kernels: prev.kernels + r.kernels, bytes: prev.bytes + r.bytes } : { ...r });
  }
  return [...m.values()].sort((a, b) => b.kernels - a.kernels);
}

function relative(folder: string, path: string): string {
  return path === folder ? "." : path.slice(folder.length + 1);
}

function manifestFor(
  req: WarmRequest,
  c: Captured,
  caches: WarmManifest["caches"],
  started: Date,
  finished: Date,
): WarmManifest {
  const t = req.target;
  return buildWarmManifest({
    mcmVersion: VERSION,
    mode: t.kind,
    ...(t.kind === "container"
      ? {
          model: t.model,
          image: c.image,
          engine: c.engine,
          prompts: t.prompts,
          tensorParallelSize: t.tensorParallelSize,
          maxModelLen: t.maxModelLen,
        }
      : { command: t.command }),
    info: c.info,
    caches,
    started,
    finished,
  });
}

/** --dry-run: what would run, secrets redacted (report/redact.ts); nothing is created or started. */
function printPlan(req: WarmRequest, json: boolean): number {
  const folder = join(resolve(req.hostCacheDir), `${captureFolderName(new Date())}`);
  const t = req.target;
  let plan: Record<string, unknown>;
  if (t.kind === "container") {
    const engine = pickEngine(t.engine, process.env);
    const run = planContainer(req, t, engine, {
      folder,
      scriptDir: "<temporary copy of python/mcm_warm.py>",
      containerName: "mcm-warm-<pid>",
    });
    plan = {
      mode: "container",
      engine,
      image: t.image,
      model: t.model,
      folder,
      argv: run.argv,
      env: redactEnv(run.env),
    };
  } else {
    const env = redactEnv({ ...Object.fromEntries(req.env), ...hostEnv(folder) });
    plan = { mode: "host", command: t.command, folder, env };
  }
  plan.tarball = req.tarball ? resolve(req.output) : null;
  plan.timeoutSeconds = req.timeout ? req.timeout.ms / 1000 : null;
  if (json) {
    process.stdout.write(`${JSON.stringify(plan, null, 2)}\n`);
    return 0;
  }
  const out = (s: string) => process.stdout.write(`${s}\n`);
  out(`Would warm (${plan.mode} mode), creating ${folder}`);
  if (t.kind === "container") out(`  run: ${(plan.argv as string[]).map(quote).join(" ")}`);
  else out(`  run: ${t.command.map(quote).join(" ")}`);
  for (const [k, v] of Object.entries(plan.env as Record<string, string>)) out(`  env: ${k}=${v}`);
  if (req.tarball) out(`  then pack: ${plan.tarball}`);
  return 0;
}

function quote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, "'\\''")}'`;
}
