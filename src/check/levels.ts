// Will a cache hit here, level by level? Each runtime keys its cache on
// factors; this sets the cache's recorded factors beside this machine's and
// says, per factor, same, differs or unknown. Pure: facts in, verdicts out.
//   Triton kernel: target, version, triton_key (its sources), ptxas, the
//     variables Triton hashes, and the group file's paths.
//   FX graph (and AOTAutograd, whose key holds the same parts): the device name,
//     torch_key, the Triton key and CUDA version (Inductor's system facts).
//   vLLM compile folder: the environment factors vLLM hashes.

import { type KeyLine, ptxasRelease, pyField, type RuntimeFacts } from "./runtime-facts.js";
import { type MachineFacts, type Target, verdict as targetVerdict } from "./usable.js";

export type FactorStatus = "same" | "differs" | "unknown";

export interface Factor {
  name: string;
  cache: string;
  here: string;
  status: FactorStatus;
  /** an unknown that can decide the verdict (else it is listed, and the verdict stands) */
  decisive: boolean;
}

export type LevelName = "triton" | "fx-graph" | "vllm";
export type LevelVerdict = "can hit" | "cannot hit" | "unknown";

export interface Level {
  level: LevelName;
  /** what this group of the cache is: "cuda 90, Triton 3.6.0", "3 FX graphs", a compile folder */
  what: string;
  count: number;
  verdict: LevelVerdict;
  factors: Factor[];
  /** the factors that decide it, in one line ("device name differs: H100 vs H200") */
  because: string;
}

export interface TritonGroupFacts extends Target {
  kernels: number;
}

export interface GraphFacts {
  path: string;
  lines: Map<string, KeyLine>;
}

export interface CompileFolderFacts {
  path: string;
  hash: string;
  /** cache_key_factors.json's env block; null when missing or unreadable */
  env: Record<string, unknown> | null;
}

export interface CacheFacts {
  triton: TritonGroupFacts[];
  graphs: GraphFacts[];
  vllm: CompileFolderFacts[];
  /** what `mcm warm` probed where the cache was made (mcm-warm.json), if it was */
  recorded: RuntimeFacts | null;
}

export interface HereFacts {
  machine: MachineFacts;
  runtime: RuntimeFacts | null;
  /** why there is no runtime answer */
  runtimeError: string | null;
}

const same = (name: string, cache: string, here: string): Factor => ({
  name,
  cache,
  here,
  status: "same",
  decisive: true,
});
const differs = (name: string, cache: string, here: string): Factor => ({
  name,
  cache,
  here,
  status: "differs",
  decisive: true,
});
const unknown = (name: string, cache: string, here: string, decisive: boolean): Factor => ({
  name,
  cache,
  here,
  status: "unknown",
  decisive,
});
const compare = (name: string, cache: string, here: string): Factor =>
  cache === here ? same(name, cache, here) : differs(name, cache, here);

const short = (s: string, n = 16) => (s.length > n ? `${s.slice(0, n)}…` : s);
/** triton_key() is the version, then a hash per source file: its end tells builds apart */
const tritonKeyShown = (k: string) => (k.length > 24 ? `…${k.slice(-12)}` : k);
const envText = (e: Record<string, string>) =>
  Object.keys(e).length
    ? Object.entries(e)
        .map(([k, v]) => `${k}=${v}`)
        .join(" ")
    : "none set";

function conclude(level: LevelName, what: string, count: number, factors: Factor[]): Level {
  const bad = factors.filter((f) => f.status === "differs");
  const open = factors.filter((f) => f.status === "unknown" && f.decisive);
  const verdict: LevelVerdict = bad.length ? "cannot hit" : open.length ? "unknown" : "can hit";
  const because = bad.length
    ? bad.map((f) => `${f.name} differs: ${f.cache} vs ${f.here}`).join("; ")
    : open.length
      ? open.map((f) => `${f.name} unknown`).join("; ")
      : "every factor mcm can see matches";
  return { level, what, count, verdict, factors, because };
}

/** The Triton key parts the cache's FX graphs recorded (Inductor caches only), when they agree. */
function recordedTritonKey(graphs: GraphFacts[]): string | null {
  const keys = new Set(graphs.map((g) => pyField(g.lines.get("system_info[version]")?.text ?? "", "triton")));
  return keys.size === 1 ? ([...keys][0] ?? null) : null;
}

function tritonLevel(g: TritonGroupFacts, cache: CacheFacts, here: HereFacts): Level {
  const v = targetVerdict(g, here.machine);
  const codes = new Set([...v.reasons, ...v.unchecked].map((r) => r.code));
  const rt = here.runtime?.triton;
  const target = `${g.backend} ${g.arch}${g.warpSize ? `, warp ${g.warpSize}` : ""}`;
  const gpus = here.machine.gpus.map((x) => `${x.backend} ${x.arch}`).join(", ") || "no GPU found";
  const factors: Factor[] = [];
  if (codes.has("backend-missing") || codes.has("arch-mismatch") || codes.has("warp-size-mismatch")) {
    factors.push(differs("GPU target", target, gpus));
  } else if (codes.has("backend-not-checked")) factors.push(unknown("GPU target", target, "not checked", true));
  else factors.push(same("GPU target", target, gpus));
  const version = rt?.version ?? here.machine.triton?.version ?? null;
  if (g.tritonVersion == null) factors.push(unknown("Triton version", "not recorded", version ?? "unknown", true));
  else if (version === null) factors.push(unknown("Triton version", g.tritonVersion, "unknown", true));
  else factors.push(compare("Triton version", g.tritonVersion, version));
  // triton_key() hashes Triton's sources: an equal version is necessary, not sufficient
  const key = recordedTritonKey(cache.graphs) ?? cache.recorded?.triton.key ?? null;
  const keyName = "Triton build (triton_key)";
  if (key && rt?.key) {
    const [a, b] = [tritonKeyShown(key), tritonKeyShown(rt.key)];
    factors.push(key === rt.key ? same(keyName, a, b) : differs(keyName, a, b));
  } else {
    factors.push(
      unknown(keyName, key ? tritonKeyShown(key) : "not recorded", rt?.key ? tritonKeyShown(rt.key) : "unknown", false),
    );
  }
  // the backend's hash: for cuda, `ptxas --version` of the ptxas it uses for the arch, and the arch
  const theirHash = cache.recorded?.triton.backend_hash;
  const myHash = rt?.backend_hash;
  const shown = (h: string) => (/release/.test(h) ? `ptxas ${ptxasRelease(h)}` : short(h, 16));
  const backendName = "backend (ptxas) hash";
  if (theirHash && myHash) {
    factors.push(
      theirHash === myHash
        ? same(backendName, shown(theirHash), shown(myHash))
        : differs(backendName, shown(theirHash), shown(myHash)),
    );
  } else
    factors.push(
      unknown(backendName, theirHash ? shown(theirHash) : "not recorded", myHash ? shown(myHash) : "unknown", false),
    );
  // Triton hashes the cache-invalidating variables that are set
  const mineEnv = rt?.hashed_env;
  const theirEnv = cache.recorded?.triton.hashed_env;
  if (mineEnv && theirEnv) factors.push(compare("Triton-hashed variables", envText(theirEnv), envText(mineEnv)));
  else if (mineEnv) {
    const set = Object.keys(mineEnv).length > 0;
    factors.push(unknown("Triton-hashed variables", "not recorded", envText(mineEnv), set));
  } else
    factors.push(unknown("Triton-hashed variables", theirEnv ? envText(theirEnv) : "not recorded", "unknown", false));
  factors.push(
    g.staleGroupPaths
      ? differs("group paths", "point elsewhere", "this folder")
      : same("group paths", "this folder", "this folder"),
  );
  const what = `${target}, Triton ${g.tritonVersion ?? "?"}`;
  return conclude("triton", what, g.kernels, factors);
}

/** The machine's side of the FX-graph key: Inductor's own lines when the probe made them. */
function hereLines(rt: RuntimeFacts | null): Map<string, KeyLine> | null {
  const lines = rt?.torch.fx_lines;
  if (!lines) return null;
  const m = new Map<string, KeyLine>();
  for (const l of lines) {
    const x = /^\[([a-z0-9]+)\] ([^:]+): ([\s\S]*)$/.exec(l);
    if (x) m.set(x[2] as string, { hash: x[1] as string, text: x[3] as string });
  }
  return m;
}

function graphFactors(lines: Map<string, KeyLine>, here: HereFacts): Factor[] {
  const rt = here.runtime;
  const mine = hereLines(rt);
  const sys = rt?.torch.system;
  const factors: Factor[] = [];
  // the system facts are Python reprs of plain strings: their fields compare as text, whole
  const field = (
    name: string,
    line: string,
    key: string,
    hereValue: string | null | undefined,
    show = (v: string) => v,
  ) => {
    const theirs = pyField(lines.get(line)?.text ?? "", key);
    const mineValue = hereValue ?? null;
    if (theirs === null)
      factors.push(unknown(name, "not recorded", mineValue === null ? "unknown" : show(mineValue), true));
    else if (mineValue === null) factors.push(unknown(name, show(theirs), "unknown", true));
    else if (theirs === mineValue) factors.push(same(name, show(theirs), show(mineValue)));
    else factors.push(differs(name, show(theirs), show(mineValue)));
  };
  field("device name", "system_info[device]", "name", sys?.device?.name);
  field("CUDA (torch.version.cuda)", "system_info[version]", "cuda", sys?.version?.cuda);
  field("Triton build (triton_key)", "system_info[version]", "triton", sys?.version?.triton, tritonKeyShown);
  // torch_key() is raw bytes: only Inductor's hashes of it compare
  const theirKey = lines.get("torch_version");
  const myKey = mine?.get("torch_version");
  const torch = rt?.torch.version ? `torch ${rt.torch.version}` : "unknown";
  const keyName = "PyTorch build (torch_key)";
  if (!theirKey) factors.push(unknown(keyName, "not recorded", torch, true));
  else if (!myKey) {
    const why = rt?.torch.fx_lines_error ?? rt?.torch.system_error ?? rt?.torch.error;
    factors.push(unknown(keyName, "recorded", why ? `unknown (${short(why, 60)})` : "unknown", true));
  } else if (theirKey.hash === myKey.hash) factors.push(same(keyName, torch, torch));
  else factors.push(differs(keyName, "another build", torch));
  // settings: a program's options and TORCHINDUCTOR_* variables change them, so a difference is not a verdict
  const config = [...lines].filter(([n]) => n.startsWith("inductor_config["));
  if (mine && config.length) {
    const off = config.filter(([n, l]) => mine.get(n)?.hash !== l.hash).map(([n]) => n.slice(16, -1));
    factors.push(
      off.length
        ? unknown(
            "Inductor settings",
            `${config.length} recorded`,
            `${off.length} differ from the defaults here (${off.slice(0, 3).join(", ")}${off.length > 3 ? ", …" : ""}): the program may set them`,
            false,
          )
        : same("Inductor settings", `${config.length} recorded`, "the defaults here"),
    );
  } else factors.push(unknown("Inductor settings", `${config.length} recorded`, "unknown", false));
  return factors;
}

function fxLevels(cache: CacheFacts, here: HereFacts): Level[] {
  // graphs made on one machine share their factors: one level per distinct set
  const groups = new Map<string, { factors: Factor[]; count: number }>();
  for (const g of cache.graphs) {
    const factors = graphFactors(g.lines, here);
    const sig = JSON.stringify(factors);
    const x = groups.get(sig) ?? { factors, count: 0 };
    x.count++;
    groups.set(sig, x);
  }
  return [...groups.values()].map((x) =>
    conclude("fx-graph", `${x.count} FX graph${x.count === 1 ? "" : "s"}`, x.count, x.factors),
  );
}

/** A factor's value as vLLM's JSON holds it, for comparison with a variable's text. */
function factorText(v: unknown): string {
  if (v === null || v === undefined) return "unset";
  if (typeof v === "string") return v;
  return JSON.stringify(v);
}

/** Whether an environment variable's text means the factor's value (vLLM parses "1"/"true" as true). */
function envMeans(text: string, v: unknown): boolean {
  if (typeof v === "boolean") return /^(1|true)$/i.test(text) === v && (v || /^(0|false|)$/i.test(text));
  if (typeof v === "number") return Number(text) === v;
  return text === factorText(v);
}

function vllmLevel(f: CompileFolderFacts, here: HereFacts): Level {
  const rt = here.runtime;
  const factors: Factor[] = [];
  if (!f.env) {
    factors.push(unknown("vLLM environment factors", "cache_key_factors.json missing", "-", true));
    return conclude("vllm", `compile folder ${f.hash}`, 1, factors);
  }
  const exact = rt?.vllm.env_factors;
  const env = rt?.env ?? {};
  const defaults = rt?.vllm_home_defaults ?? {};
  let unchecked = 0;
  const diff: Factor[] = [];
  let checked = 0;
  for (const [k, v] of Object.entries(f.env)) {
    if (exact && k in exact) {
      checked++;
      if (JSON.stringify(exact[k]) !== JSON.stringify(v)) diff.push(differs(k, factorText(v), factorText(exact[k])));
    } else if (k in env) {
      checked++;
      if (!envMeans(env[k] as string, v)) diff.push(differs(k, factorText(v), env[k] as string));
    } else if (k in defaults) {
      checked++;
      if (defaults[k] !== v) diff.push(differs(k, factorText(v), defaults[k] as string));
    } else unchecked++;
  }
  factors.push(...diff);
  if (!diff.length) factors.push(same("vLLM environment factors", `${checked} checked`, "the same"));
  if (unchecked) {
    const why = rt ? (rt.vllm.error ? "vLLM is not importable here" : "not reported") : "no probe answer";
    factors.push(
      unknown("other vLLM factors", `${unchecked} recorded`, `not checked (${why}; vLLM's defaults apply)`, false),
    );
  }
  return conclude("vllm", `compile folder ${f.hash}`, 1, factors);
}

/** Every level's verdicts for a cache on this machine. */
export function explainLevels(cache: CacheFacts, here: HereFacts): Level[] {
  return [
    ...cache.triton.map((g) => tritonLevel(g, cache, here)),
    ...fxLevels(cache, here),
    ...cache.vllm.map((f) => vllmLevel(f, here)),
  ];
}

const NOUN: Record<LevelName, string> = {
  triton: "Triton kernel",
  "fx-graph": "FX graph",
  vllm: "vLLM compile folder",
};

/** One sentence per level and verdict: what the runtime will do ("55 Triton kernels can hit; ..."). */
export function summarise(levels: Level[]): string[] {
  const out: string[] = [];
  for (const name of ["triton", "fx-graph", "vllm"] as LevelName[]) {
    const of = levels.filter((l) => l.level === name);
    for (const v of ["can hit", "cannot hit", "unknown"] as LevelVerdict[]) {
      const ls = of.filter((l) => l.verdict === v);
      if (!ls.length) continue;
      const n = ls.reduce((s, l) => s + l.count, 0);
      const noun = `${n} ${NOUN[name]}${n === 1 ? "" : "s"}`;
      const why = [...new Set(ls.map((l) => l.because))].join("; ");
      if (v === "can hit") out.push(`${noun} can hit`);
      else if (v === "unknown") out.push(`${noun}: not known (${why})`);
      else if (name === "fx-graph") {
        out.push(
          `${noun} cannot hit (${why}), so Inductor will compile them again and look their Triton kernels up again`,
        );
      } else if (name === "vllm") {
        out.push(`${noun} cannot hit (${why}): vLLM will compute another hash and compile into a new folder`);
      } else out.push(`${noun} cannot hit (${why}): Triton will compile them again`);
    }
  }
  return out;
}
