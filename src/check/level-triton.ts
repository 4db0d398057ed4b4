// The Triton kernel level: target, version, triton_key (a hash of Triton's
// sources), the backend's hash (ptxas), the variables Triton hashes, group paths.
import {
  compare,
  conclude,
  differs,
  envText,
  type Factor,
  type Level,
  same,
  short,
  tritonKeyShown,
  unknown,
} from "./factors.js";
import type { CacheFacts, HereFacts, TritonGroupFacts } from "./levels.js";
import { ptxasRelease, pyField } from "./runtime-facts.js";
import { verdict as targetVerdict } from "./usable.js";

/** The Triton key the cache's FX graphs recorded (Inductor caches, vLLM units), when they agree. */
function recordedTritonKey(cache: CacheFacts): string | null {
  const lines = [...cache.graphs.map((g) => g.lines), ...cache.vllm.flatMap((f) => (f.lines ? [f.lines] : []))];
  const keys = new Set(lines.map((l) => pyField(l.get("system_info[version]")?.text ?? "", "triton")));
  return keys.size === 1 ? ([...keys][0] ?? null) : null;
}

export function tritonLevel(g: TritonGroupFacts, cache: CacheFacts, here: HereFacts): Level {
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
  const key = recordedTritonKey(cache) ?? cache.recorded?.triton.key ?? null;
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
