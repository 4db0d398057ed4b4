// What made the compile units of one vLLM folder: the factors vLLM hashed
// (cache_key_factors.json), the model (modelinfos/), and the traced graph's
// signature (computation_graph.py), which names every parameter and its shape.
import { createHash } from "node:crypto";
import { closeSync, readdirSync, readSync } from "node:fs";
import type { ScanWarning, VllmContext } from "../core/types.js";
import type { CompileDirRecord } from "../db/units.js";
import { vllmIndexIn } from "../pack/vllm-index.js";
import { parseJson } from "./group.js";
import { asObject } from "./kernel-facts.js";
import { openCapped, readFileCapped } from "./vllm-unit.js";

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
    // artifact paths its vllm_compile_cache.py holds elsewhere (a moved cache): vLLM loads them as written
    staleIndexPaths: vllmIndexIn(dir.path)?.moved?.rewritten ?? 0,
    mtime: file?.mtime ?? -1,
  };
}

/**
 * sha256 (16 hex) of the traced forward's signature line (every parameter's
 * name and shape), read from the file's head in windows and hashed as it comes.
 */
function graphSignature(dir: string): string | null {
  const f = openCapped(`${dir}/computation_graph.py`, []);
  if (!f) return null;
  const marker = Buffer.from("def forward(");
  const hash = createHash("sha256");
  const b = Buffer.allocUnsafe(1 << 16);
  let started = false;
  try {
    for (let pos = 0; pos < Math.min(f.size, 16 << 20); ) {
      const n = readSync(f.fd, b, 0, b.length, pos);
      if (n === 0) break;
      let chunk = b.subarray(0, n);
      if (!started) {
        const at = chunk.indexOf(marker);
        if (at < 0) {
          pos += Math.max(1, n - marker.length); // a marker cut by the window is found in the next
          continue;
        }
        started = true;
        chunk = chunk.subarray(at);
      }
      const nl = chunk.indexOf(0x0a);
      hash.update(nl < 0 ? chunk : chunk.subarray(0, nl));
      if (nl >= 0) return hash.digest("hex").slice(0, 16);
      pos += n;
    }
    return null;
  } finally {
    closeSync(f.fd);
  }
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
