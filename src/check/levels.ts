// Will a cache hit here, level by level? Each runtime keys its cache on
// factors; this sets the cache's recorded factors beside this machine's and
// says, per factor, same, differs or unknown. Pure: facts in, verdicts out.
//   Triton kernel: target, version, triton_key (its sources), ptxas, the
//     variables Triton hashes, and the group file's paths.
//   FX graph (and AOTAutograd, whose key holds the same parts): the device name,
//     torch_key, the Triton key and CUDA version (Inductor's system facts).
//   vLLM compile folder: the environment factors vLLM hashes.
import type { Level, LevelName, LevelVerdict } from "./factors.js";
import { fxLevels } from "./level-fx.js";
import { tritonLevel } from "./level-triton.js";
import { vllmLevel } from "./level-vllm.js";
import type { KeyLine, RuntimeFacts } from "./runtime-facts.js";
import type { MachineFacts, Target } from "./usable.js";

export type { Factor, FactorStatus, Level, LevelName, LevelVerdict } from "./factors.js";

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
  /** the key lines of a graph its units embed (vLLM's compiler_hash covers their system facts and torch_key) */
  lines: Map<string, KeyLine> | null;
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
