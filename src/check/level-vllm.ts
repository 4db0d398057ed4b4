// The vLLM level: each compile folder's cache_key_factors.json env block beside
// what this machine's vLLM (or, without one, its environment) would hash.
import { conclude, differs, type Factor, type Level, same, unknown } from "./factors.js";
import { systemFactors } from "./level-fx.js";
import type { CompileFolderFacts, HereFacts } from "./levels.js";

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

export function vllmLevel(f: CompileFolderFacts, here: HereFacts): Level {
  const rt = here.runtime;
  const factors: Factor[] = [];
  if (!f.env) {
    factors.push(unknown("vLLM environment factors", "cache_key_factors.json missing", "-", true));
    return conclude("vllm", `compile folder ${f.hash}`, 1, factors);
  }
  if (!rt) {
    const n = Object.keys(f.env).length;
    factors.push(
      unknown("vLLM environment factors", `${n} recorded`, `unknown (${here.runtimeError ?? "no probe answer"})`, true),
    );
    return conclude("vllm", `compile folder ${f.hash}`, 1, factors);
  }
  const exact = rt.vllm.env_factors;
  const env = rt.env;
  const defaults = rt.vllm_home_defaults ?? {};
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
  // vLLM's compiler_hash covers Inductor's system facts and torch_key: another GPU or build, another folder
  if (f.lines) factors.push(...systemFactors(f.lines, here));
  else factors.push(unknown("GPU and PyTorch (compiler_hash)", "not read from the units", "-", false));
  if (!diff.length && checked) factors.push(same("vLLM environment factors", `${checked} checked`, "the same"));
  if (unchecked) {
    const why = rt.vllm.error ? "vLLM is not importable here" : "not reported";
    factors.push(
      unknown("other vLLM factors", `${unchecked} recorded`, `not checked (${why}; vLLM's defaults apply)`, false),
    );
  }
  return conclude("vllm", `compile folder ${f.hash}`, 1, factors);
}
