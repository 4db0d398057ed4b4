import type { KernelRow } from "../core/types.js";
import { iso } from "./format.js";

/** The stable `--json` shape of one kernel (documented in the README). */
export function kernelJson(k: KernelRow) {
  return {
    hash: k.key,
    name: k.name,
    backend: k.backend,
    arch: k.arch,
    warpSize: k.warpSize,
    numWarps: k.numWarps,
    numStages: k.numStages,
    numCtas: k.numCtas,
    sharedMemory: k.shared,
    tritonVersion: k.tritonVersion,
    totalSize: k.totalSize,
    fileCount: k.fileCount,
    modifiedTime: iso(k.modifiedTime),
    cacheDir: k.root,
    path: k.path,
    mode: k.layout,
    hits: k.hits,
    misses: k.misses,
    lastAccess: iso(k.lastAccess),
    staleGroupPaths: k.staleGroupPaths,
    warnings: k.warnings.length,
    ...(k.layout === "vllm" ? { vllmHash: k.vllmHash, rank: k.rank, prefix: k.prefix } : {}),
    /** compile units (vLLM artifacts) that embed it; 0: a kernel folder on disk */
    embeddedIn: k.embedded,
  };
}
