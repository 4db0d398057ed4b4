// mcm-warm.json: what made a warmed cache, so that whoever ships it knows where it hits. No I/O.

export const WARM_MANIFEST = "mcm-warm.json";

/** What the warm script (python/mcm_warm.py) reports about the workload's environment. */
export interface WorkloadInfo {
  python?: string | null;
  vllm_version?: string | null;
  torch_version?: string | null;
  triton_version?: string | null;
  gpu_name?: string | null;
  backend?: string | null;
  arch?: string | null;
  gpu_count?: number;
  gpu_error?: string;
  environment?: { variables: Record<string, string>; vllm_env_hash: string | null };
  /** python/mcm_probe.py's answer where the cache was warmed: the factors the runtimes hash */
  probe?: Record<string, unknown>;
}

export interface WarmManifest {
  format: "mcm-warm/1";
  mcm_version: string;
  mode: "container" | "host";
  model: string | null;
  image: string | null;
  image_id: string | null;
  image_digest: string | null;
  engine: string | null;
  command: string[] | null;
  prompts: string[] | null;
  tensor_parallel_size: number | null;
  max_model_len: number | null;
  vllm_version: string | null;
  torch_version: string | null;
  triton_version: string | null;
  python: string | null;
  gpu: { name: string | null; backend: string | null; arch: string | null; count: number };
  environment: { variables: Record<string, string>; vllm_env_hash: string | null };
  /** what the runtimes hashed into their keys where the cache was made (mcm explain reads it) */
  probe: Record<string, unknown> | null;
  caches: { path: string; layout: string; kernels: number; bytes: number }[];
  started_at: string;
  finished_at: string;
  seconds: number;
}

/** The line the warm script prints; the last one wins. */
export function parseInfoLine(line: string): WorkloadInfo | undefined {
  if (!line.startsWith("MCM-WARM-INFO ")) return undefined;
  try {
    const v = JSON.parse(line.slice("MCM-WARM-INFO ".length)) as unknown;
    return typeof v === "object" && v !== null ? (v as WorkloadInfo) : undefined;
  } catch {
    return undefined;
  }
}

export function buildWarmManifest(m: {
  mcmVersion: string;
  mode: "container" | "host";
  model?: string;
  image?: { ref: string; id: string | null; digest: string | null };
  engine?: string;
  command?: string[];
  prompts?: string[];
  tensorParallelSize?: number;
  maxModelLen?: number;
  info: WorkloadInfo;
  caches: WarmManifest["caches"];
  started: Date;
  finished: Date;
}): WarmManifest {
  const i = m.info;
  return {
    format: "mcm-warm/1",
    mcm_version: m.mcmVersion,
    mode: m.mode,
    model: m.model ?? null,
    image: m.image?.ref ?? null,
    image_id: m.image?.id ?? null,
    image_digest: m.image?.digest ?? null,
    engine: m.engine ?? null,
    command: m.command ?? null,
    prompts: m.prompts ?? null,
    tensor_parallel_size: m.tensorParallelSize ?? null,
    max_model_len: m.maxModelLen ?? null,
    vllm_version: i.vllm_version ?? null,
    torch_version: i.torch_version ?? null,
    triton_version: i.triton_version ?? null,
    python: i.python ?? null,
    gpu: { name: i.gpu_name ?? null, backend: i.backend ?? null, arch: i.arch ?? null, count: i.gpu_count ?? 0 },
    environment: i.environment ?? { variables: {}, vllm_env_hash: null },
    probe: i.probe ?? null,
    caches: m.caches,
    started_at: m.started.toISOString(),
    finished_at: m.finished.toISOString(),
    seconds: Number(((m.finished.getTime() - m.started.getTime()) / 1000).toFixed(3)),
  };
}
