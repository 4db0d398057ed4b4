// Model Cache Vault's image format (redhat-et/GKM mcv/, "compat" images): one gzip
// layer with io.<kind>.cache/ and io.<kind>.manifest/manifest.json, and
// cache.<kind>.image/* labels in the image config. Same shapes as MCV writes.
import { McmError } from "../../core/errors.js";
import type { CompileDirRecord, UnitRow } from "../../db/units.js";
import { prettyJsonText } from "../text-entry.js";
import { MCV_FORMATS, type McvFormat, mcvFormatOf, unitManifestEntries } from "./mcv-vllm.js";

export type CacheKind = "triton" | "vllm";

/** One entry of the summary label's targets. */
export interface ImageTarget {
  backend: string;
  arch: string;
  warp_size: number;
}

export function describeTarget(t: ImageTarget): string {
  return `${t.backend}/${t.arch}${t.warp_size ? `/warp${t.warp_size}` : ""}`;
}

export const cachePrefix = (k: CacheKind) => `io.${k}.cache/`;
export const manifestPath = (k: CacheKind) => `io.${k}.manifest/manifest.json`;
const labelPrefix = (k: CacheKind) => `cache.${k}.image/`;

/** What push knows of one kernel it packs. */
export interface PackedKernel {
  /** the folder name in the cache (Triton's key) */
  key: string;
  backend: string;
  arch: string;
  warpSize: number | null;
  numWarps: number | null;
  numStages: number | null;
  /** the kernel folder */
  path: string;
  /** from the kernel's <name>.json, the fields MCV's manifest copies (db's iteratePacked) */
  hash: string | null;
  ptxVersion: number | null;
  debug: boolean;
  /** vLLM: the torch_compile_cache/<hash> it belongs to */
  vllmHash: string | null;
  /** inside a vLLM compile unit (not a kernel folder) */
  embedded?: boolean;
}

/** One manifest entry as MCV writes it: metadata hash, options, and the target flattened in. */
function manifestEntry(k: PackedKernel): Record<string, unknown> {
  const e: Record<string, unknown> = { hash: k.hash ?? k.key };
  if (k.ptxVersion !== null) e.ptx_version = k.ptxVersion;
  if (k.numStages) e.num_stages = k.numStages;
  if (k.numWarps) e.num_warps = k.numWarps;
  if (k.debug) e.debug = true;
  e.backend = k.backend;
  e.arch = k.arch;
  e.warp_size = k.warpSize ?? 0;
  return e;
}

const byHash = (a: Record<string, unknown>, b: Record<string, unknown>) =>
  String(a.hash) < String(b.hash) ? -1 : String(a.hash) > String(b.hash) ? 1 : 0;

/** The distinct targets, in a fixed order (MCV's order is a Go map's, i.e. none). */
function summaryTargets(kernels: PackedKernel[]): ImageTarget[] {
  const seen = new Map<string, ImageTarget>();
  for (const k of kernels) {
    const t = { backend: k.backend, arch: k.arch, warp_size: k.warpSize ?? 0 };
    seen.set(`${t.backend}-${t.arch}-${t.warp_size}`, t);
  }
  return [...seen.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, t]) => t);
}

/** vLLM compile units in the layer, and the folders' factors (cache_key_factors.json). */
export interface PackedUnits {
  units: UnitRow[];
  dirs: CompileDirRecord[];
}

/**
 * vLLM: one entry per hash; hashes with compile units describe them (binary,
 * aot_compile), legacy ones list their Triton kernels (triton).
 */
function vllmEntries(kernels: PackedKernel[], packed: PackedUnits): Record<string, unknown>[] {
  const fromUnits = unitManifestEntries(packed.units, packed.dirs);
  const legacy = new Map<string, PackedKernel[]>();
  for (const k of kernels) {
    if (k.embedded || fromUnits.has(k.vllmHash ?? "")) continue;
    legacy.set(k.vllmHash ?? "", [...(legacy.get(k.vllmHash ?? "") ?? []), k]);
  }
  const entries = new Map(fromUnits);
  for (const [h, ks] of legacy) {
    entries.set(h, { vllmHash: h, cacheFormat: "triton", triton: ks.map(manifestEntry).sort(byHash) });
  }
  return [...entries.keys()].sort().map((h) => entries.get(h) as Record<string, unknown>);
}

const NO_UNITS: PackedUnits = { units: [], dirs: [] };

/**
 * MCV's manifest.json as `JSON.stringify(doc, null, 2)` and a newline write
 * it, given in pieces each time it is called: a Triton image's an entry at a
 * time, each entry made as it is written (the kernels are sorted once).
 */
export function mcvManifestText(
  kind: CacheKind,
  kernels: PackedKernel[],
  packed: PackedUnits = NO_UNITS,
): () => Iterable<string> {
  if (kind !== "triton") {
    const doc = { vllm: vllmEntries(kernels, packed) };
    return () => prettyJsonText(doc, 2);
  }
  // byHash's order (a stable sort of the kernels' order), without an entry object a kernel held
  const hashes = kernels.map((k) => String(k.hash ?? k.key));
  const order = kernels.map((_, i) => i);
  order.sort((a, b) => {
    const x = hashes[a] as string;
    const y = hashes[b] as string;
    return x < y ? -1 : x > y ? 1 : 0;
  });
  function* entries() {
    for (const i of order) yield manifestEntry(kernels[i] as PackedKernel);
  }
  return () => prettyJsonText({ triton: entries() }, 2);
}

export function mcvLabels(
  kind: CacheKind,
  kernels: PackedKernel[],
  cacheBytes: number,
  packed: PackedUnits = NO_UNITS,
): Record<string, string> {
  const p = labelPrefix(kind);
  const hashes = new Set([...kernels.map((k) => k.vllmHash), ...packed.units.map((u) => u.vllmHash)]);
  const labels: Record<string, string> = {
    [`${p}entry-count`]: String(kind === "triton" ? kernels.length : hashes.size),
    [`${p}cache-size-bytes`]: String(cacheBytes),
    // the targets the kernels were compiled for, embedded ones included (not this machine's GPU)
    [`${p}summary`]: JSON.stringify({ targets: summaryTargets(kernels) }),
  };
  if (kind === "vllm") {
    const formats = new Set<McvFormat>(packed.units.map(mcvFormatOf));
    if (kernels.some((k) => !k.embedded && !packed.units.some((u) => u.vllmHash === k.vllmHash))) formats.add("triton");
    labels[`${p}format`] = MCV_FORMATS.filter((f) => formats.has(f)).join(",") || "triton";
    Object.assign(labels, kserveLabels(hashes, packed));
  }
  return labels;
}

/**
 * The labels MCV adds for KServe's model cache (io.kserve.km/*): which
 * framework, which hashes, and where under VLLM_CACHE_ROOT the cache mounts.
 */
function kserveLabels(hashes: Set<string | null>, packed: PackedUnits): Record<string, string> {
  const aot = packed.units.length > 0 && packed.units.every((u) => u.format === "aot" || u.format === "mega-aot");
  return {
    "io.kserve.km/framework": "vllm",
    "io.kserve.km/cache-type": "torch-compile",
    "io.kserve.km/cache-hash": [...hashes]
      .filter((h): h is string => !!h)
      .sort()
      .join(","),
    "io.kserve.km/cache-mount-subpath": aot ? "torch_compile_cache/torch_aot_compile" : "torch_compile_cache",
    "io.kserve.km/cache-root-env": "VLLM_CACHE_ROOT=/home/kserve/.cache/vllm",
  };
}

export interface ImageLabels {
  kind: CacheKind;
  targets: ImageTarget[];
  entryCount: number | undefined;
  cacheSizeBytes: number | undefined;
}

/** Reads the labels of a pulled image: which cache it holds and for which targets. */
export function readLabels(labels: Record<string, string> | null | undefined): ImageLabels {
  const keys = Object.keys(labels ?? {});
  const kind: CacheKind | undefined = keys.some((k) => k.startsWith(labelPrefix("vllm")))
    ? "vllm"
    : keys.some((k) => k.startsWith(labelPrefix("triton")))
      ? "triton"
      : undefined;
  if (!kind || !labels) {
    throw new McmError("not a kernel-cache image: its config has no cache.triton.image/ or cache.vllm.image/ labels");
  }
  const p = labelPrefix(kind);
  let targets: ImageTarget[] = [];
  const summary = labels[`${p}summary`];
  if (summary) {
    try {
      const s = JSON.parse(summary) as { targets?: ImageTarget[] };
      targets = (s.targets ?? []).filter((t) => t && typeof t.backend === "string");
    } catch {
      throw new McmError(`label ${p}summary is not JSON: ${summary.slice(0, 80)}`);
    }
  }
  const num = (v: string | undefined) => (v !== undefined && /^\d+$/.test(v) ? Number(v) : undefined);
  return {
    kind,
    targets,
    entryCount: num(labels[`${p}entry-count`]),
    cacheSizeBytes: num(labels[`${p}cache-size-bytes`]),
  };
}
