// What made the compile units of one vLLM folder: the factors vLLM hashed
// (cache_key_factors.json), the model (modelinfos/), and the traced graph's
// signature (computation_graph.py), which names every parameter and its shape.
import { createHash } from "node:crypto";
import { readdirSync } from "node:fs";
import type { ScanWarning, VllmContext } from "../core/types.js";
import type { CompileDirRecord } from "../db/units.js";
import { parseJson } from "./group.js";
import { asObject } from "./kernel-facts.js";
import { readFileCapped } from "./vllm-unit.js";

/** The env factors that say where a unit can load and which format vLLM wrote. */
const ENV_FACTORS = [
  "VLLM_TARGET_DEVICE",
  "VLLM_MAIN_CUDA_VERSION",
  "VLLM_COMPILE_CACHE_SAVE_FORMAT",
  "VLLM_USE_STANDALONE_COMPILE",
  "VLLM_USE_AOT_COMPILE",
  "VLLM_USE_MEGA_AOT_ARTIFACT",
];
const HASHES = ["code_hash", "compiler_hash", "config_hash"];

export function readCompileDir(
  dir: { path: string; ctx: VllmContext },
  root: string,
  model: string | null,
  warnings: ScanWarning[],
): CompileDirRecord {
  const file = readFileCapped(`${dir.path}/cache_key_factors.json`, warnings);
  let factors: Record<string, unknown> | null = null;
  if (file) {
    const all = asObject(parseJson(`${dir.path}/cache_key_factors.json`, file.data.toString("utf8"), warnings));
    const env = asObject(all.env);
    factors = {};
    for (const k of HASHES) if (k in all) factors[k] = all[k];
    for (const k of ENV_FACTORS) if (k in env) factors[k] = env[k];
  }
  return {
    path: dir.path,
    root,
    ...dir.ctx,
    factors,
    model,
    graph: graphSignature(dir.path),
    mtime: file?.mtime ?? -1,
  };
}

/** sha256 (16 hex) of the traced forward's signature: parameter names and shapes. */
function graphSignature(dir: string): string | null {
  const file = readFileCapped(`${dir}/computation_graph.py`, []);
  if (!file) return null;
  const text = file.data.toString("utf8");
  const at = text.indexOf("def forward(");
  if (at < 0) return null;
  const end = text.indexOf("\n", at);
  return createHash("sha256")
    .update(text.slice(at, end < 0 ? undefined : end))
    .digest("hex")
    .slice(0, 16);
}

/**
 * The model architecture in modelinfos/, when it names exactly one: vLLM
 * records one file per model class it inspected, not per compile hash.
 */
export function modelOf(root: string, warnings: ScanWarning[]): string | null {
  let names: string[];
  try {
    names = readdirSync(`${root}/modelinfos`).filter((n) => n.endsWith(".json"));
  } catch {
    return null;
  }
  const archs = new Set<string>();
  for (const n of names) {
    const file = readFileCapped(`${root}/modelinfos/${n}`, warnings);
    if (!file) continue;
    const info = asObject(
      asObject(parseJson(`${root}/modelinfos/${n}`, file.data.toString("utf8"), warnings)).modelinfo,
    );
    if (typeof info.architecture === "string") archs.add(info.architecture);
  }
  return archs.size === 1 ? ([...archs][0] as string) : null;
}
