// The cache's side of explain: what a cache records about where it was made.
//   Triton kernels: the index's target, version and group-path state. (The
//     cubins name a CUDA release, but not the ptxas Triton hashed: on the H200
//     they said 13.0.88 while Triton hashed its bundled 12.8.93, so it is not used.)
//   FX graphs: Inductor's `_fx_graph_cache_debug_lines`, the parts of the key
//     with their hashes, pickled in each entry (read without executing anything).
//   vLLM compile folders: cache_key_factors.json's env block.
//   mcm-warm.json: what `mcm warm` probed where it warmed the cache.
import { closeSync } from "node:fs";
import { dirname } from "node:path";
import type { KernelFilters } from "../core/filters.js";
import type { ScanWarning } from "../core/types.js";
import type { IndexDb } from "../db/index.js";
import { UnitStore } from "../db/units.js";
import { cacheEntryFiles } from "../pack/inductor-paths.js";
import { fileSource } from "../scan/byte-source.js";
import { field, LONG_TEXT, PickleError, readPickle } from "../scan/pickle.js";
import { ArtifactError, readStandaloneArtifact } from "../scan/torch-artifact.js";
import { openCapped, readFileCapped } from "../scan/vllm-unit.js";
import { WARM_MANIFEST } from "../warm/manifest.js";
import type { CacheFacts, CompileFolderFacts, GraphFacts, TritonGroupFacts } from "./levels.js";
import { asFacts, type KeyLine, keyLines, type RuntimeFacts } from "./runtime-facts.js";

/** Does `key` (a kernel, FX-graph or vLLM hash) start with the prefix a user gave? */
const named = (key: string, prefix: string | undefined) =>
  prefix === undefined || key.toLowerCase().startsWith(prefix.toLowerCase());

/** The kernels by target, version and group-path state (those whose hash starts with `prefix`). */
export function tritonGroups(db: IndexDb, filters: KernelFilters, prefix?: string): TritonGroupFacts[] {
  if (prefix === undefined) return db.kernelTargets(filters);
  const groups = new Map<string, TritonGroupFacts>();
  for (const k of db.queryKernels(filters)) {
    if (!named(k.key, prefix)) continue;
    const id = JSON.stringify([k.backend, k.arch, k.warpSize, k.tritonVersion, k.staleGroupPaths]);
    const g = groups.get(id) ?? { ...k, kernels: 0 };
    g.kernels++;
    groups.set(id, g);
  }
  return [...groups.values()]
    .map(({ backend, arch, warpSize, tritonVersion, staleGroupPaths, kernels }) => ({
      backend,
      arch,
      warpSize,
      tritonVersion,
      staleGroupPaths,
      kernels,
    }))
    .sort((a, b) => b.kernels - a.kernels);
}

/** The key lines of one FX-graph entry, or null when it holds none mcm can read. */
export function graphLines(path: string, warnings: ScanWarning[]): GraphFacts | null {
  const f = openCapped(path, warnings);
  if (!f) return null;
  try {
    const root = readPickle(fileSource(f.fd, f.size));
    const lines = field(root, "_fx_graph_cache_debug_lines");
    if (!Array.isArray(lines)) return null;
    const texts = lines.filter((l): l is string => typeof l === "string" && l !== LONG_TEXT);
    return { path, lines: keyLines(texts) };
  } catch (e) {
    if (!(e instanceof PickleError)) throw e;
    warnings.push({ path, code: "bad-artifact", message: `not an FX-graph entry mcm can read: ${e.message}` });
    return null;
  } finally {
    closeSync(f.fd);
  }
}

export function graphFacts(inductorRoots: string[], warnings: ScanWarning[], prefix?: string): GraphFacts[] {
  const out: GraphFacts[] = [];
  for (const root of inductorRoots) {
    for (const file of cacheEntryFiles(root)) {
      // fxgraph/<2>/<key>/<entry>
      const rel = file.slice(root.length + 1).split("/");
      if (rel[0] !== "fxgraph" || !named(rel[2] ?? "", prefix)) continue;
      const g = graphLines(file, warnings);
      if (g?.lines.size) out.push(g);
    }
  }
  return out;
}

/**
 * The key lines of the FX graphs a vLLM unit embeds: a binary artifact's
 * "inductor" entries, an unpacked one's fxgraph/ files. Null for AOT models
 * (their graphs sit in nested pickles mcm does not search for these) and when none reads.
 */
export function unitKeyLines(path: string, format: string, warnings: ScanWarning[]): Map<string, KeyLine> | null {
  if (format === "unpacked") {
    for (const file of cacheEntryFiles(path)) {
      if (!file.startsWith(`${path}/fxgraph/`)) continue;
      const g = graphLines(file, warnings);
      if (g?.lines.size) return g.lines;
    }
    return null;
  }
  if (format !== "binary") return null;
  const f = openCapped(path, warnings);
  if (!f) return null;
  try {
    const src = fileSource(f.fd, f.size);
    for (const e of readStandaloneArtifact(src).entries) {
      if (e.type !== "inductor") continue;
      const lines = field(readPickle(src, e.content), "_fx_graph_cache_debug_lines");
      if (!Array.isArray(lines)) continue;
      const found = keyLines(lines.filter((l): l is string => typeof l === "string" && l !== LONG_TEXT));
      if (found.size) return found;
    }
    return null;
  } catch (e) {
    if (!(e instanceof PickleError || e instanceof ArtifactError || e instanceof RangeError)) throw e;
    return null; // the index already warned about an unreadable artifact
  } finally {
    closeSync(f.fd);
  }
}

export function compileFolderFacts(
  db: IndexDb,
  cacheDir: string,
  warnings: ScanWarning[],
  prefix?: string,
): CompileFolderFacts[] {
  const store = new UnitStore(db);
  const units = store.units(cacheDir);
  const dirs = store.compileDirs(cacheDir).filter((d) => named(d.vllmHash ?? "", prefix));
  return dirs.map((d) => {
    // one folder's units were compiled by one process: the first that reads speaks for all
    let lines: Map<string, KeyLine> | null = null;
    for (const u of units.filter((x) => x.container === d.path)) {
      lines = unitKeyLines(u.path, u.format, warnings);
      if (lines) break;
    }
    const read = readFileCapped(`${d.path}/cache_key_factors.json`, warnings);
    let env: Record<string, unknown> | null = null;
    if (read) {
      try {
        const v = JSON.parse(read.data.toString("utf8")) as { env?: unknown };
        if (v.env && typeof v.env === "object" && !Array.isArray(v.env)) env = v.env as Record<string, unknown>;
      } catch {
        warnings.push({ path: `${d.path}/cache_key_factors.json`, code: "bad-json", message: "not JSON" });
      }
    }
    return { path: d.path, hash: d.vllmHash ?? "?", env, lines };
  });
}

/** The probe `mcm warm` recorded for this cache: its mcm-warm.json, in the folder or the one above. */
export function recordedProbe(cacheDir: string): { facts: RuntimeFacts; file: string } | null {
  for (const dir of [cacheDir, dirname(cacheDir)]) {
    const file = `${dir}/${WARM_MANIFEST}`;
    const read = readFileCapped(file, []);
    if (!read) continue;
    try {
      const m = JSON.parse(read.data.toString("utf8")) as { probe?: unknown };
      if (m.probe && typeof m.probe === "object") return { facts: asFacts(m.probe as Record<string, unknown>), file };
    } catch {
      // not JSON: nothing recorded
    }
  }
  return null;
}

/** Everything the cache under `cacheDir` records about where it was made. */
export function cacheFacts(
  db: IndexDb,
  cacheDir: string,
  filters: KernelFilters,
  warnings: ScanWarning[],
  prefix?: string,
): CacheFacts {
  return {
    triton: tritonGroups(db, { ...filters, cacheDir }, prefix),
    graphs: graphFacts(db.inductorRoots(cacheDir), warnings, prefix),
    vllm: compileFolderFacts(db, cacheDir, warnings, prefix),
    recorded: recordedProbe(cacheDir)?.facts ?? null,
  };
}
