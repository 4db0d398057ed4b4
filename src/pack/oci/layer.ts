// What `mcm push` puts in the layer: the selected kernels under io.triton.cache/
// (or the vLLM compile folders that hold them under io.vllm.cache/), plus MCV's
// io.<kind>.manifest/manifest.json. A plan first; writing it is one call.
import { McmError } from "../../core/errors.js";
import type { LayoutName } from "../../core/types.js";
import type { PackRow } from "../../db/index.js";
import { EntryList } from "../entry-list.js";
import { writeTarGz } from "../tar.js";
import { textEntry } from "../text-entry.js";
import type { LayerFile } from "./image.js";
import {
  type CacheKind,
  cachePrefix,
  manifestPath,
  mcvLabels,
  mcvManifestText,
  type PackedKernel,
  type PackedUnits,
} from "./mcv.js";

export interface LayerPlan {
  kind: CacheKind;
  root: string;
  kernels: PackedKernel[];
  entries: EntryList;
  /** bytes of the cache files in the layer (MCV's cache-size-bytes) */
  cacheBytes: number;
  files: number;
  labels: Record<string, string>;
  skipped: { path: string; reason: string }[];
}

/** What the layer needs of a kernel, its few strings that repeat held once (`intern`). */
export function packedKernel(row: PackRow, intern: (s: string) => string): PackedKernel {
  return {
    path: row.path,
    key: row.key,
    backend: intern(row.backend),
    arch: intern(row.arch),
    warpSize: row.warpSize,
    numWarps: row.numWarps,
    numStages: row.numStages,
    hash: row.hash,
    ptxVersion: row.ptxVersion,
    debug: row.debug,
    vllmHash: row.vllmHash === null ? null : intern(row.vllmHash),
    embedded: row.embedded,
  };
}

/** The torch_compile_cache/<hash> folder a vLLM kernel sits in, relative to the vLLM root. */
function vllmEntry(root: string, k: PackedKernel): string {
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
  kernels: PackedKernel[],
  whole: boolean,
  packed: PackedUnits = { units: [], dirs: [] },
): LayerPlan {
  const kind = kindOf(layout);
  const prefix = cachePrefix(kind).slice(0, -1);
  const entries = new EntryList();
  const skipped: LayerPlan["skipped"] = [];
  // a whole plain Triton cache, or a whole vLLM root (compile units need vLLM's files and modelinfos/ beside them)
  if (whole && (layout === "triton" || (kind === "vllm" && packed.units.length > 0)))
    entries.under(root, prefix, skipped);
  else if (kind === "triton") {
    entries.dir(prefix);
    const seen = new Set<string>();
    for (const k of kernels) {
      if (seen.has(k.key)) throw new McmError(`two chosen kernels share the folder name ${k.key}: narrow the filters`);
      seen.add(k.key);
      entries.under(k.path, `${prefix}/${k.key}`, skipped);
    }
  } else {
    const dirs = [...new Set(kernels.map((k) => vllmEntry(root, k)))].sort();
    const parents = new Set<string>();
    for (const d of dirs) {
      const parts = d.split("/");
      for (let i = 1; i < parts.length; i++) parents.add(parts.slice(0, i).join("/"));
    }
    entries.dir(prefix);
    for (const p of parents) entries.dir(`${prefix}/${p}`);
    for (const d of dirs) entries.under(`${root}/${d}`, `${prefix}/${d}`, skipped);
    packed = {
      units: packed.units.filter((u) => dirs.some((d) => u.path.startsWith(`${root}/${d}/`))),
      dirs: packed.dirs,
    };
  }
  const cacheBytes = entries.bytes;
  const mdir = manifestPath(kind).split("/")[0] as string;
  entries.dir(mdir);
  entries.made(textEntry(manifestPath(kind), mcvManifestText(kind, kernels, packed)));
  return {
    kind,
    root,
    kernels,
    entries,
    cacheBytes,
    files: entries.files,
    labels: mcvLabels(kind, kernels, cacheBytes, packed),
    skipped,
  };
}

/** Writes the layer; its digests come from the writer, so the file is not read back. */
/** `links`: a file whose bytes an earlier entry holds is a tar hard link to it (one copy of each distinct file). */
export async function writeLayer(plan: LayerPlan, outPath: string, links = true): Promise<LayerFile> {
  const r = await writeTarGz(plan.entries.sorted(), outPath, {
    linkIdentical: links,
    presorted: true,
    nameOf: plan.entries.nameOf,
  });
  return {
    path: outPath,
    digest: `sha256:${r.sha256}`,
    diffId: `sha256:${r.tarSha256}`,
    size: r.bytes,
    linked: r.linked,
  };
}
