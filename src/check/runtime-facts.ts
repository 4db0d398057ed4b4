// What python/mcm_probe.py reports about a Python's runtimes (the machine's side
// of explain), and what a cache records about the one it was made with (the
// cache's side). Types, and the reading of the probe's JSON; no I/O.

export interface RuntimeFacts {
  format: string;
  python: { executable: string; version: string };
  /** the variables that steer caches (secrets redacted) */
  env: Record<string, string>;
  triton: {
    error?: string;
    version?: string | null;
    /** triton_key(): the version and a hash of every Triton source file */
    key?: string;
    key_error?: string;
    /** get_cache_invalidating_env_vars(): the variables Triton hashes into every kernel key, as set */
    hashed_env?: Record<string, string>;
    hashed_env_error?: string;
    target?: { backend: string; arch: string; warp_size: number };
    target_error?: string;
    backend_hash?: string;
    ptxas?: { path?: string; version?: string; error?: string };
  };
  torch: {
    error?: string;
    version?: string | null;
    cuda?: string | null;
    system?: { device?: { name?: string }; version?: Record<string, string>; hash?: string };
    torch_key?: string;
    system_error?: string;
    /** Inductor's own debug lines for the machine-wide parts of the FX-graph key */
    fx_lines?: string[];
    fx_lines_error?: string;
  };
  vllm: {
    error?: string;
    version?: string | null;
    env_factors?: Record<string, unknown>;
    env_hash?: string;
    env_error?: string;
  };
  /** VLLM_CONFIG_ROOT and VLLM_XLA_CACHE_PATH as vLLM would default them here */
  vllm_home_defaults?: Record<string, string>;
}

export const PROBE_FORMAT = "mcm-probe/1";

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** The probe's answer from its output (the last line that is one), or null. */
export function parseProbeOutput(text: string): RuntimeFacts | null {
  const lines = text.trim().split("\n").reverse();
  for (const line of lines) {
    if (!line.startsWith("{")) continue;
    try {
      const v = JSON.parse(line) as unknown;
      if (isRecord(v) && v.format === PROBE_FORMAT) return asFacts(v);
    } catch {
      // a runtime's own log line that looks like JSON: keep looking
    }
  }
  return null;
}

/** Keeps only the shapes mcm reads; anything else becomes absent (unknown), never a crash. */
export function asFacts(v: Record<string, unknown>): RuntimeFacts {
  const part = (k: string) => (isRecord(v[k]) ? (v[k] as Record<string, unknown>) : { error: "not reported" });
  const strings = (x: unknown) =>
    isRecord(x) ? Object.fromEntries(Object.entries(x).filter(([, s]) => typeof s === "string")) : {};
  const triton = part("triton") as RuntimeFacts["triton"];
  const torch = part("torch") as RuntimeFacts["torch"];
  if (
    torch.fx_lines !== undefined &&
    !(Array.isArray(torch.fx_lines) && torch.fx_lines.every((l) => typeof l === "string"))
  ) {
    torch.fx_lines = undefined;
  }
  if (triton.hashed_env !== undefined) triton.hashed_env = strings(triton.hashed_env) as Record<string, string>;
  const python = isRecord(v.python) ? v.python : {};
  return {
    format: PROBE_FORMAT,
    python: { executable: String(python.executable ?? "?"), version: String(python.version ?? "?") },
    env: strings(v.env) as Record<string, string>,
    triton,
    torch,
    vllm: part("vllm") as RuntimeFacts["vllm"],
    vllm_home_defaults: strings(v.vllm_home_defaults) as Record<string, string>,
  };
}

/** One line of Inductor's `_fx_graph_cache_debug_lines`: "[<hash>] <name>: <value>". */
export interface KeyLine {
  hash: string;
  text: string;
}

const LINE_RE = /^\[([a-z0-9]+)\] ([^:]+): ([\s\S]*)$/;

/** The lines by name; only the machine-wide parts (torch_version, system_info, inductor_config). */
export function keyLines(lines: Iterable<string>): Map<string, KeyLine> {
  const out = new Map<string, KeyLine>();
  for (const l of lines) {
    const m = LINE_RE.exec(l);
    if (!m) continue;
    const name = m[2] as string;
    if (name === "torch_version" || name.startsWith("system_info[") || name.startsWith("inductor_config[")) {
      out.set(name, { hash: m[1] as string, text: m[3] as string });
    }
  }
  return out;
}

/** A field of a Python dict literal in a line's text: `{'name': 'NVIDIA H100'}` gives "NVIDIA H100" for "name". */
export function pyField(text: string, field: string): string | null {
  const m = new RegExp(`'${field}': '([^']*)'`).exec(text);
  return m ? (m[1] as string) : null;
}

/** "Cuda compilation tools, release 13.0, V13.0.88" -> "13.0.88"; the whole line when it has no V number. */
export function ptxasRelease(line: string): string {
  return /\bV(\d+\.\d+\.\d+)/.exec(line)?.[1] ?? line.trim();
}
