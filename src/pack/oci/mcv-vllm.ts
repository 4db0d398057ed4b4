// MCV's manifest entries and labels for vLLM compile units (redhat-et/GKM
// mcv/pkg/cache/vllm.go): standalone-compile artifacts are cacheFormat
// "binary" (cache_save_format binary or unpacked; a mega-AOT model is binary
// with cache_save_format "mega-aot"), a plain AOT model "aot_compile".
import type { CompileDirRecord, UnitRow } from "../../db/units.js";

export type McvFormat = "aot_compile" | "binary" | "triton";

/** MCV's order for the format label. */
export const MCV_FORMATS: readonly McvFormat[] = ["aot_compile", "binary", "triton"];

export function mcvFormatOf(u: Pick<UnitRow, "format">): McvFormat {
  return u.format === "aot" ? "aot_compile" : "binary";
}

const nameOf = (p: string) => p.slice(p.lastIndexOf("/") + 1);

/** One manifest entry per vLLM hash that holds units. */
export function unitManifestEntries(units: UnitRow[], dirs: CompileDirRecord[]): Map<string, Record<string, unknown>> {
  const out = new Map<string, Record<string, unknown>>();
  const byHash = new Map<string, UnitRow[]>();
  for (const u of units) byHash.set(u.vllmHash ?? "", [...(byHash.get(u.vllmHash ?? "") ?? []), u]);
  for (const [hash, us] of byHash) {
    const aot = us.filter((u) => u.format === "aot");
    const binary = us.filter((u) => u.format !== "aot");
    const entry: Record<string, unknown> = { vllmHash: hash, cacheFormat: binary.length ? "binary" : "aot_compile" };
    if (binary.length) {
      const folders = new Map<string, UnitRow[]>();
      for (const u of binary) folders.set(u.container, [...(folders.get(u.container) ?? []), u]);
      entry.binary = [...folders.entries()]
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([container, fs]) => {
          const first = fs[0] as UnitRow;
          const f = dirs.find((d) => d.path === container)?.factors ?? {};
          const e: Record<string, unknown> = {
            rank: first.rank ?? "",
            prefix: first.prefix ?? "",
            artifact_count: fs.length,
            artifact_names: fs.map((u) => nameOf(u.path)).sort(),
          };
          for (const k of ["code_hash", "config_hash", "compiler_hash"]) if (typeof f[k] === "string") e[k] = f[k];
          e.cache_save_format = first.format === "mega-aot" ? "mega-aot" : first.format;
          if (typeof f.VLLM_TARGET_DEVICE === "string") e.target_device = f.VLLM_TARGET_DEVICE;
          return e;
        });
    }
    if (aot.length) {
      entry.aot_compile = aot
        .map((u) => ({ hash: hash, rank: u.rank ?? "", model_file: nameOf(u.path), file_size: u.bytes }))
        .sort((a, b) => (a.rank < b.rank ? -1 : a.rank > b.rank ? 1 : 0));
    }
    out.set(hash, entry);
  }
  return out;
}
