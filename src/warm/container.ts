// The container engine's command line for a warm run, and what its errors mean. No I/O.
import type { ContainerTarget, EngineName } from "./request.js";

/** Where mcm mounts its warm script inside the container. */
export const SCRIPT_MOUNT = "/opt/mcm";

export interface RunPlan {
  engine: EngineName;
  containerName: string;
  /** argv[0] is the engine; no secret value ever appears here */
  argv: string[];
  /** variables the engine copies into the container (`-e NAME` without a value): value, or null when hidden */
  env: Record<string, string | null>;
}

export interface HostGroups {
  video?: number;
  render?: number;
}

/**
 * GPU access without --privileged:
 * - NVIDIA with podman: the CDI device `nvidia.com/gpu=all` (nvidia-container-toolkit's CDI spec);
 * - NVIDIA with docker: `--gpus all` (the NVIDIA runtime hook);
 * - ROCm: the kernel driver /dev/kfd and the render nodes under /dev/dri, the host's video and render
 *   groups (numeric, since the image may not name them), and seccomp unconfined as vLLM's ROCm docs say
 *   (its memory manager needs syscalls the default profile blocks).
 */
export function gpuFlags(engine: EngineName, t: ContainerTarget, groups: HostGroups): string[] {
  if (!t.gpu) return [];
  if (!t.rocm) return engine === "podman" ? ["--device", "nvidia.com/gpu=all"] : ["--gpus", "all"];
  const flags = ["--device", "/dev/kfd", "--device", "/dev/dri"];
  for (const gid of [groups.video, groups.render]) if (gid !== undefined) flags.push("--group-add", String(gid));
  return [...flags, "--security-opt", "seccomp=unconfined"];
}

export function containerRunPlan(opts: {
  engine: EngineName;
  target: ContainerTarget;
  containerName: string;
  captureDir: string;
  scriptDir: string;
  groups: HostGroups;
  userEnv: [string, string][];
  hasToken: boolean;
}): RunPlan {
  const t = opts.target;
  const env: Record<string, string | null> = {
    VLLM_CACHE_ROOT: t.containerCacheDir,
    MCM_WARM_MODEL: t.model,
  };
  if (t.prompts.length > 0) env.MCM_WARM_PROMPTS = JSON.stringify(t.prompts);
  if (t.tensorParallelSize !== undefined) env.MCM_WARM_TP = String(t.tensorParallelSize);
  if (t.maxModelLen !== undefined) env.MCM_WARM_MAX_MODEL_LEN = String(t.maxModelLen);
  for (const [k, v] of opts.userEnv) env[k] = v;
  if (opts.hasToken) env.HF_TOKEN = null;
  const argv = [
    opts.engine,
    "run",
    "--rm",
    "--name",
    opts.containerName,
    "--pull=never",
    // PyTorch shares tensors between vLLM's processes through /dev/shm
    "--ipc=host",
    ...gpuFlags(opts.engine, t, opts.groups),
    // the script runs with the image's own Python: no custom image needed
    "--entrypoint",
    "python3",
    "--volume",
    `${opts.scriptDir}:${SCRIPT_MOUNT}:ro,Z`,
    "--volume",
    `${opts.captureDir}:${t.containerCacheDir}:Z,rw`,
    // values travel in the engine's environment, never on its command line
    ...Object.keys(env).flatMap((k) => ["-e", k]),
    t.image,
    `${SCRIPT_MOUNT}/mcm_warm.py`,
  ];
  return { engine: opts.engine, containerName: opts.containerName, argv, env };
}

/** The values the engine process needs in its environment for the `-e NAME` flags. */
export function engineEnv(plan: RunPlan, token: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(plan.env)) {
    if (v !== null) out[k] = v;
  }
  if (token !== undefined && "HF_TOKEN" in plan.env) out.HF_TOKEN = token;
  return out;
}

const INSTALL: Record<EngineName, string> = {
  podman: "install podman (apt install podman, dnf install podman) or pass --engine docker",
  docker: "install Docker Engine (https://docs.docker.com/engine/install/) or pass --engine podman",
};

export function engineMissing(engine: EngineName | null): string {
  if (engine === null) return "no container engine found: install podman (apt install podman) or docker";
  return `${engine} is not installed or not on PATH: ${INSTALL[engine]}`;
}

/** The engine's last non-empty line of stderr, without its "Error: " prefix. */
export function lastLine(stderr: string): string {
  const lines = stderr.split("\n").filter((l) => l.trim());
  return (lines.pop() ?? "").replace(/^Error: /, "").trim();
}

/** Turns an engine's failure before the workload started into one line a user can act on. */
export function translateEngineError(engine: EngineName, rocm: boolean, stderr: string): string | null {
  const text = stderr.trim();
  const last = lastLine(text);
  if (/unresolvable CDI devices|CDI device.*not found|nvidia\.com\/gpu/i.test(text)) {
    return `no NVIDIA GPU available to ${engine} (${last}): install nvidia-container-toolkit and run \`nvidia-ctk cdi generate --output=/etc/cdi/nvidia.yaml\`, or use --no-gpu for a CPU image`;
  }
  if (/could not select device driver .*gpu|nvidia-container-cli|unknown or invalid runtime name: nvidia/i.test(text)) {
    return `no NVIDIA GPU available to ${engine} (${last}): install nvidia-container-toolkit and restart the engine, or use --no-gpu for a CPU image`;
  }
  if (rocm && /\/dev\/(kfd|dri)/.test(text)) {
    return `no AMD GPU available to ${engine} (${last}): /dev/kfd and /dev/dri must exist (is the amdgpu driver loaded?), or use --no-gpu for a CPU image`;
  }
  if (/image not known|no such image|manifest unknown|not found: manifest/i.test(text)) {
    return `image not available: ${last}`;
  }
  if (/cannot connect to the docker daemon|is the docker daemon running/i.test(text)) {
    return `the docker daemon is not running (${last}): start it (systemctl start docker) or pass --engine podman`;
  }
  return null;
}
