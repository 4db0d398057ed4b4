// What `mcm warm` was asked to do, checked and with defaults filled in. No I/O.
import { parseDuration } from "../core/duration.js";
import { McmError } from "../core/errors.js";
import { parseWholeNumber } from "../core/flags.js";

export const DEFAULT_CUDA_IMAGE = "docker.io/vllm/vllm-openai:latest";
export const DEFAULT_ROCM_IMAGE = "docker.io/rocm/vllm:latest";
export const ENGINES = ["podman", "docker"] as const;
export type EngineName = (typeof ENGINES)[number];

export interface ContainerTarget {
  kind: "container";
  model: string;
  image: string;
  rocm: boolean;
  /** null: the first of podman, docker found on PATH */
  engine: EngineName | null;
  /** where the cache lives inside the container (VLLM_CACHE_ROOT there) */
  containerCacheDir: string;
  gpu: boolean;
  tensorParallelSize?: number;
  maxModelLen?: number;
  prompts: string[];
}

export interface HostTarget {
  kind: "host";
  command: string[];
}

export interface WarmRequest {
  target: ContainerTarget | HostTarget;
  hostCacheDir: string;
  output: string;
  tarball: boolean;
  /** the limit, and how the user wrote it (for the message when it runs out) */
  timeout?: { ms: number; text: string };
  /** extra variables for the workload; values travel only in the child's environment */
  env: [string, string][];
  /** the Hugging Face token; never printed, never in argv */
  hfToken?: string;
}

/** The flags as commander hands them over. */
export interface WarmFlags {
  model?: string;
  output?: string;
  hostCacheDir?: string;
  /** refused: a token in argv is visible to every user in `ps` */
  huggingFaceToken?: string | boolean;
  huggingFaceTokenFile?: string;
  vllm_cache_dir?: string;
  vllmCacheDir?: string;
  tarball?: boolean;
  rocm?: boolean;
  engine?: string;
  image?: string;
  tensorParallelSize?: string;
  maxModelLen?: string;
  prompt?: string[];
  env?: string[];
  timeout?: string;
  gpu?: boolean;
}

export interface WarmDefaults {
  image?: string;
  rocmImage?: string;
  engine?: string;
  /** HF_TOKEN from mcm's own environment */
  envToken?: string;
  /** reads --hugging-face-token-file (the command does the I/O) */
  readTokenFile?: (path: string) => string;
  /** mcm's environment, for `--env NAME` without a value */
  environ?: Record<string, string | undefined>;
}

export const TOKEN_IN_ARGV =
  "--hugging-face-token is not accepted: a token on the command line is visible to every user in ps; set HF_TOKEN or use --hugging-face-token-file PATH (- for stdin)";

const CONTAINER_ONLY: [keyof WarmFlags, string][] = [
  ["model", "--model"],
  ["huggingFaceTokenFile", "--hugging-face-token-file"],
  ["vllm_cache_dir", "--vllm_cache_dir"],
  ["vllmCacheDir", "--vllm-cache-dir"],
  ["rocm", "--rocm"],
  ["engine", "--engine"],
  ["image", "--image"],
  ["tensorParallelSize", "--tensor-parallel-size"],
  ["maxModelLen", "--max-model-len"],
  ["prompt", "--prompt"],
];

function positive(flag: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = parseWholeNumber(flag, v);
  if (n < 1) throw new McmError(`${flag} needs a whole number above 0, not '${v}'`);
  return n;
}

function engineName(v: string | undefined, from: string): EngineName | null {
  if (v === undefined) return null;
  if (!(ENGINES as readonly string[]).includes(v)) throw new McmError(`${from} must be podman or docker, not '${v}'`);
  return v as EngineName;
}

/** KEY=VALUE, or KEY alone: its value from mcm's environment, so that a secret stays out of argv. */
export function parseEnvPairs(
  pairs: string[] | undefined,
  environ: Record<string, string | undefined> = {},
): [string, string][] {
  return (pairs ?? []).map((p) => {
    const eq = p.indexOf("=");
    const key = eq < 0 ? p : p.slice(0, eq);
    // only the name is echoed: the value may be a secret
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) throw new McmError(`--env needs KEY=VALUE or KEY, not '${key}'`);
    if (eq >= 0) return [key, p.slice(eq + 1)];
    const v = environ[key];
    if (v === undefined) throw new McmError(`--env ${key}: ${key} is not set in mcm's environment`);
    return [key, v];
  });
}

export function parseWarmRequest(flags: WarmFlags, command: string[], defaults: WarmDefaults): WarmRequest {
  if (flags.huggingFaceToken !== undefined) throw new McmError(TOKEN_IN_ARGV);
  const common = {
    hostCacheDir: flags.hostCacheDir ?? "./",
    output: flags.output ?? "warmed_cache.tar.gz",
    tarball: flags.tarball === true,
    timeout: flags.timeout !== undefined ? { ms: parseDuration(flags.timeout), text: flags.timeout } : undefined,
    env: parseEnvPairs(flags.env, defaults.environ),
  };
  if (command.length > 0) {
    const wrong = CONTAINER_ONLY.filter(([k]) => flags[k] !== undefined && flags[k] !== false).map(([, f]) => f);
    if (flags.gpu === false) wrong.push("--no-gpu");
    if (wrong.length > 0) {
      throw new McmError(`${wrong.join(", ")} only apply to container mode, not with -- COMMAND (host mode)`);
    }
    return { ...common, target: { kind: "host", command } };
  }
  const rocm = flags.rocm === true;
  const dir = flags.vllmCacheDir ?? flags.vllm_cache_dir ?? "/root/.cache/vllm/";
  if (!dir.startsWith("/"))
    throw new McmError(`--vllm_cache_dir must be an absolute path inside the container, not '${dir}'`);
  const prompts = flags.prompt ?? [];
  if (prompts.some((p) => p.trim() === "")) throw new McmError("--prompt needs some text");
  const file = flags.huggingFaceTokenFile;
  if (file !== undefined && !defaults.readTokenFile)
    throw new McmError("--hugging-face-token-file cannot be read here");
  const token = file !== undefined ? defaults.readTokenFile?.(file) : defaults.envToken;
  return {
    ...common,
    hfToken: token === "" ? undefined : token,
    target: {
      kind: "container",
      model: flags.model ?? "facebook/opt-125m",
      image:
        flags.image ?? (rocm ? defaults.rocmImage : defaults.image) ?? (rocm ? DEFAULT_ROCM_IMAGE : DEFAULT_CUDA_IMAGE),
      rocm,
      engine: engineName(flags.engine, "--engine") ?? engineName(defaults.engine, "warm.engine in the config file"),
      containerCacheDir: dir,
      gpu: flags.gpu !== false,
      tensorParallelSize: positive("--tensor-parallel-size", flags.tensorParallelSize),
      maxModelLen: positive("--max-model-len", flags.maxModelLen),
      prompts,
    },
  };
}

/** `cache_<YYYY-MM-DD_HH-MM-SS>` in local time, as the original tool names it. */
export function captureFolderName(now: Date): string {
  const p = (n: number) => String(n).padStart(2, "0");
  return `cache_${now.getFullYear()}-${p(now.getMonth() + 1)}-${p(now.getDate())}_${p(now.getHours())}-${p(now.getMinutes())}-${p(now.getSeconds())}`;
}
