// What `mcm push` puts in the layer: the selected kernels under io.triton.cache/
// (or the vLLM compile folders that hold them under io.vllm.cache/), plus MCV's
// io.<kind>.manifest/manifest.json. A plan first; writing it is one call.
import { statSync } from "node:fs";
import { McmError } from "../../core/errors.js";
import type { KernelRow, LayoutName } from "../../core/types.js";
import { type Collected, collect } from "../collect.js";
import { type TarEntry, writeTarGz } from "../tar.js";
import type { LayerFile } from "./image.js";
import {
  type CacheKind,
  cachePrefix,
  manifestPath,
  mcvLabels,
  mcvManifest,
  type PackedKernel,
  type PackedUnits,
} from "./mcv.js";

export interface LayerPlan {
  kind: CacheKind;
  root: string;
  kernels: PackedKernel[];
  entries: TarEntry[];
  /** bytes of the cache files in the layer (MCV's cache-size-bytes) */
  cacheBytes: number;
  files: number;
  labels: Record<string, string>;
  skipped: { path: string; reason: string }[];
}

/** Every plain file and folder under `abs`, named `name + rel`; links and specials are skipped. */
function collectUnder(abs: string, name: string, out: TarEntry[], skipped: LayerPlan["skipped"]): void {
  const found: Collected = { dirs: [], files: [], skipped: [] };
  collect(abs, abs, found);
  out.push({ name, type: "dir" }, ...found.dirs.map((d) => ({ name: `${name}/${d}`, type: "dir" as const })));
  for (const f of found.files) {
    const st = statSync(f.abs);
    out.push({ name: `${name}/${f.rel}`, type: "file", source: f.abs, size: st.size, mode: st.mode });
  }
  for (const x of found.skipped) skipped.push({ path: `${abs}/${x.path}`, reason: x.reason });
}

/** The torch_compile_cache/<hash> folder a vLLM kernel sits in, relative to the vLLM root. */
function vllmEntry(root: string, k: KernelRow): string {
  const rel = k.path.slice(root.length + 1).split("/");
  const i = rel.indexOf(k.vllmHash ?? "\0");
  if (i < 0) throw new McmError(`cannot place ${k.path} in its vLLM cache folder`);
  return rel.slice(0, i + 1).join("/");
}

export function kindOf(layout: LayoutName): CacheKind {
  return layout === "vllm" ? "vllm" : "triton";
}

/**
 * Triton and Inductor caches: the kernel folders, flat under io.triton.cache/ as a
 * Triton cache dir; the whole root when nothing narrowed the choice and it is a
 * plain Triton cache (autotune results and launchers ride along). vLLM: each
 * torch_compile_cache/<hash> holding a chosen kernel, whole, as vLLM needs it.
 */
export function planLayer(
  root: string,
  layout: LayoutName,
  rows: { row: KernelRow; metadata: string | null }[],
  whole: boolean,
  packed: PackedUnits = { units: [], dirs: [] },
): LayerPlan {
  const kind = kindOf(layout);
  const prefix = cachePrefix(kind).slice(0, -1);
  const entries: TarEntry[] = [];
  const skipped: LayerPlan["skipped"] = [];
  // a whole plain Triton cache, or a whole vLLM root (compile units need vLLM's files and modelinfos/ beside them)
  if (whole && (layout === "triton" || (kind === "vllm" && packed.units.length > 0)))
    collectUnder(root, prefix, entries, skipped);
  else if (kind === "triton") {
    entries.push({ name: prefix, type: "dir" });
    const seen = new Set<string>();
    for (const { row } of rows) {
      if (seen.has(row.key))
        throw new McmError(`two chosen kernels share the folder name ${row.key}: narrow the filters`);
      seen.add(row.key);
      collectUnder(row.path, `${prefix}/${row.key}`, entries, skipped);
    }
  } else {
    const dirs = [...new Set(rows.map(({ row }) => vllmEntry(root, row)))].sort();
    const parents = new Set<string>();
    for (const d of dirs) {
      const parts = d.split("/");
      for (let i = 1; i < parts.length; i++) parents.add(parts.slice(0, i).join("/"));
    }
    entries.push(
      { name: prefix, type: "dir" },
      ...[...parents].map((p) => ({ name: `${prefix}/${p}`, type: "dir" as const })),
    );
    for (const d of dirs) collectUnder(`${root}/${d}`, `${prefix}/${d}`, entries, skipped);
    packed = {
      units: packed.units.filter((u) => dirs.some((d) => u.path.startsWith(`${root}/${d}/`))),
      dirs: packed.dirs,
    };
  }
  const kernels: PackedKernel[] = rows.map(({ row, metadata }) => ({
    key: row.key,
    backend: row.backend,
    arch: row.arch,
    warpSize: row.warpSize,
    numWarps: row.numWarps,
    numStages: row.numStages,
    metadata,
    vllmHash: row.vllmHash,
    embedded: row.embedded > 0,
  }));
  const files = entries.filter((e) => e.type === "file");
  const cacheBytes = files.reduce((n, e) => n + (e.size ?? 0), 0);
  const manifest = mcvManifest(kind, kernels, packed);
  const mdir = manifestPath(kind).split("/")[0] as string;
  entries.push({ name: mdir, type: "dir" }, { name: manifestPath(kind), type: "file", data: manifest });
  return {
    kind,
    root,
    kernels,
    entries,
    cacheBytes,
    files: files.length,
    labels: mcvLabels(kind, kernels, cacheBytes, packed),
    skipped,
  };
}

/** Writes the layer; its digests come from the writer, so the file is not read back. */
/** `links`: a file whose bytes an earlier entry holds is a tar hard link to it (one copy of each distinct file). */
export async function writeLayer(plan: LayerPlan, outPath: string, links = true): Promise<LayerFile> {
  const r = await writeTarGz(plan.entries, outPath, { linkIdentical: links });
  return {
    path: outPath,
    digest: `sha256:${r.sha256}`,
    diffId: `sha256:${r.tarSha256}`,
    size: r.bytes,
    linked: r.linked,
  };
}
