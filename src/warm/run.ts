// Runs a warm: container or host, then indexes what it captured, writes the manifest and packs it.
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, rmdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PROBE_SCRIPT } from "../check/probe.js";
import { McmError } from "../core/errors.js";
import type { LayoutName } from "../core/types.js";
import { type ChildResult, runChild } from "./child.js";
import {
  containerRunPlan,
  engineEnv,
  engineMissing,
  lastLine,
  type RunPlan,
  translateEngineError,
} from "./container.js";
import { hostGroups, makeCaptureFolder, which } from "./host-facts.js";
import { parseInfoLine, type WorkloadInfo } from "./manifest.js";
import { type ContainerTarget, ENGINES, type EngineName, type HostTarget, type WarmRequest } from "./request.js";

export const WARM_SCRIPT = new URL("../../python/mcm_warm.py", import.meta.url).pathname;

export type Phase = (label: string) => void;

export interface Captured {
  /** the folder made for this run */
  folder: string;
  /** cache roots inside it, each with the layout to index it as */
  roots: { path: string; layout: LayoutName }[];
  info: WorkloadInfo;
  image?: { ref: string; id: string | null; digest: string | null };
  engine?: EngineName;
}

export function pickEngine(wanted: EngineName | null, env: NodeJS.ProcessEnv): EngineName {
  if (wanted !== null) {
    if (!which(wanted, env)) throw new McmError(engineMissing(wanted));
    return wanted;
  }
  const found = ENGINES.find((e) => which(e, env));
  if (!found) throw new McmError(engineMissing(null));
  return found;
}

/** The engine's command line for a container warm; --dry-run prints the same plan with placeholders. */
export function planContainer(
  req: WarmRequest,
  t: ContainerTarget,
  engine: EngineName,
  where: { folder: string; scriptDir: string; containerName: string },
): RunPlan {
  return containerRunPlan({
    engine,
    target: t,
    containerName: where.containerName,
    captureDir: where.folder,
    scriptDir: where.scriptDir,
    groups: t.rocm ? hostGroups() : {},
    userEnv: req.env,
    hasToken: req.hfToken !== undefined,
  });
}

function imageFacts(engine: EngineName, image: string): { id: string | null; digest: string | null } | undefined {
  const r = spawnSync(engine, ["image", "inspect", "--format", "{{.Id}}|{{json .RepoDigests}}", image], {
    encoding: "utf8",
  });
  if (r.status !== 0) return undefined;
  const [id, digests] = r.stdout.trim().split("|");
  let digest: string | null = null;
  try {
    const list = JSON.parse(digests ?? "[]") as string[] | null;
    digest = list?.[0]?.split("@")[1] ?? null;
  } catch {
    digest = null;
  }
  return { id: id || null, digest };
}

function ensureImage(engine: EngineName, image: string, phase: Phase): { id: string | null; digest: string | null } {
  const have = imageFacts(engine, image);
  if (have) return have;
  phase(`pulling ${image}`);
  const r = spawnSync(engine, ["pull", image], { encoding: "utf8", stdio: ["ignore", "inherit", "pipe"] });
  if (r.error) throw new McmError(`${engine} failed to start: ${r.error.message}`);
  if (r.status !== 0) {
    throw new McmError(`image ${image} is not available locally and could not be pulled: ${lastLine(r.stderr)}`);
  }
  return imageFacts(engine, image) ?? { id: null, digest: null };
}

function failure(what: string, r: ChildResult, timeout: WarmRequest["timeout"]): McmError {
  if (r.interrupted) return new McmError(`interrupted: ${what} stopped`, 130);
  if (r.timedOut) return new McmError(`timed out after ${timeout?.text}: ${what} stopped`);
  const last = r.tail.slice(-5).map((l) => `  ${l}`);
  const how = r.signal ? `was killed by ${r.signal}` : `exited with code ${r.code}`;
  return new McmError(`${what} ${how}${last.length ? `; its last lines:\n${last.join("\n")}` : ""}`);
}

function phaseLines(phase: Phase, info: { value: WorkloadInfo }, model: string) {
  const labels: Record<string, string> = {
    "loading-model": `loading model ${model}`,
    compiling: "compiling: running the prompts",
    done: "workload finished",
  };
  return (line: string): boolean => {
    if (line.startsWith("MCM-PHASE ")) {
      const name = line.slice("MCM-PHASE ".length).trim();
      phase(labels[name] ?? name);
      return true;
    }
    const parsed = parseInfoLine(line);
    if (parsed) {
      info.value = parsed;
      return true;
    }
    return false;
  };
}

export async function warmInContainer(req: WarmRequest, t: ContainerTarget, phase: Phase): Promise<Captured> {
  const engine = pickEngine(t.engine, process.env);
  const image = ensureImage(engine, t.image, phase);
  const folder = makeCaptureFolder(req.hostCacheDir);
  const scriptDir = mkdtempSync(join(tmpdir(), "mcm-warm-"));
  copyFileSync(WARM_SCRIPT, join(scriptDir, "mcm_warm.py"));
  copyFileSync(PROBE_SCRIPT, join(scriptDir, "mcm_probe.py")); // the warm script records its answer
  const plan = planContainer(req, t, engine, {
    folder,
    scriptDir,
    containerName: `mcm-warm-${process.pid}-${Date.now().toString(36)}`,
  });
  const info = { value: {} as WorkloadInfo };
  let r: ChildResult;
  try {
    phase(`starting ${t.image} with ${engine}`);
    r = await runChild(plan.argv, {
      env: { ...process.env, ...engineEnv(plan, req.hfToken) },
      timeoutMs: req.timeout?.ms,
      onLine: phaseLines(phase, info, t.model),
      onStop: () => {
        spawnSync(engine, ["rm", "-f", "-t", "2", plan.containerName], { stdio: "ignore", timeout: 30_000 });
      },
    });
  } finally {
    rmSync(scriptDir, { recursive: true, force: true });
  }
  if (r.spawnError) throw new McmError(engineMissing(engine));
  if (r.code !== 0 || r.interrupted || r.timedOut) {
    leaveOrRemove(folder);
    // 125-127: the engine itself failed before the workload ran
    const translated =
      !r.interrupted && !r.timedOut && r.code !== null && r.code >= 125
        ? translateEngineError(engine, t.rocm, r.stderrText)
        : null;
    if (translated) throw new McmError(translated);
    throw failure("the container", r, req.timeout);
  }
  return {
    folder,
    roots: [{ path: folder, layout: "vllm" }],
    info: info.value,
    image: { ref: t.image, ...image },
    engine,
  };
}

const HOST_ROOTS: { sub: string; variable: string; layout: LayoutName }[] = [
  { sub: "triton", variable: "TRITON_CACHE_DIR", layout: "triton" },
  { sub: "inductor", variable: "TORCHINDUCTOR_CACHE_DIR", layout: "inductor" },
  { sub: "vllm", variable: "VLLM_CACHE_ROOT", layout: "vllm" },
];

export function hostEnv(folder: string): Record<string, string> {
  return Object.fromEntries(HOST_ROOTS.map((r) => [r.variable, join(folder, r.sub)]));
}

export async function warmOnHost(req: WarmRequest, t: HostTarget, phase: Phase): Promise<Captured> {
  const folder = makeCaptureFolder(req.hostCacheDir);
  for (const r of HOST_ROOTS) mkdirSync(join(folder, r.sub));
  phase(`running ${t.command.join(" ")}`);
  const r = await runChild(t.command, {
    env: { ...process.env, ...Object.fromEntries(req.env), ...hostEnv(folder) },
    timeoutMs: req.timeout?.ms,
  });
  if (r.spawnError) {
    leaveOrRemove(folder);
    throw new McmError(
      `cannot run ${t.command[0]}: ${r.spawnError.code === "ENOENT" ? "command not found" : r.spawnError.message}`,
    );
  }
  if (r.code !== 0 || r.interrupted || r.timedOut) {
    leaveOrRemove(folder);
    throw failure(`the command (${t.command[0]})`, r, req.timeout);
  }
  return {
    folder,
    roots: HOST_ROOTS.map((x) => ({ path: join(folder, x.sub), layout: x.layout })),
    info: hostInfo(),
  };
}

/** Versions and GPU of the host, read by the warm script with the host's python3, when there is one. */
function hostInfo(): WorkloadInfo {
  if (!which("python3", process.env)) return {};
  const r = spawnSync("python3", [WARM_SCRIPT, "--info"], { encoding: "utf8", timeout: 120_000 });
  for (const line of (r.stdout ?? "").split("\n").reverse()) {
    const info = parseInfoLine(line);
    if (info) return info;
  }
  return {};
}

/** A failed run keeps what it wrote (it may help to see why), but not empty folders. */
function leaveOrRemove(folder: string): void {
  const tryRmdir = (p: string) => {
    try {
      rmdirSync(p);
      return true;
    } catch (e) {
      return (e as NodeJS.ErrnoException).code === "ENOENT";
    }
  };
  const subsGone = HOST_ROOTS.map((r) => tryRmdir(join(folder, r.sub))).every(Boolean);
  if (!(subsGone && tryRmdir(folder))) process.stderr.write(`mcm: what the workload wrote is kept in ${folder}\n`);
}
