import type { KernelRow } from "../core/types.js";
import { iso } from "./format.js";

/**
 * The stable `--json` shape of one kernel (documented in the README), field by
 * field, in order: the KernelRow property and index column it comes from, and
 * how it is written. kernelJson follows it in JavaScript, db/kernel-json-sql.ts
 * in SQL (list --json), so that the two cannot drift apart.
 */
export const KERNEL_JSON_FIELDS = [
  { key: "hash", prop: "key", column: "key", as: "value" },
  { key: "name", prop: "name", column: "name", as: "value" },
  { key: "backend", prop: "backend", column: "backend", as: "value" },
  { key: "arch", prop: "arch", column: "arch", as: "value" },
  { key: "warpSize", prop: "warpSize", column: "warp_size", as: "value" },
  { key: "numWarps", prop: "numWarps", column: "num_warps", as: "value" },
  { key: "numStages", prop: "numStages", column: "num_stages", as: "value" },
  { key: "numCtas", prop: "numCtas", column: "num_ctas", as: "value" },
  { key: "sharedMemory", prop: "shared", column: "shared", as: "value" },
  { key: "tritonVersion", prop: "tritonVersion", column: "triton_version", as: "value" },
  { key: "totalSize", prop: "totalSize", column: "total_size", as: "value" },
  { key: "fileCount", prop: "fileCount", column: "file_count", as: "value" },
  { key: "modifiedTime", prop: "modifiedTime", column: "modified_time", as: "iso" },
  { key: "cacheDir", prop: "root", column: "root", as: "value" },
  { key: "path", prop: "path", column: "path", as: "value" },
  { key: "mode", prop: "layout", column: "layout", as: "value" },
  { key: "hits", prop: "hits", column: "hits", as: "value" },
  { key: "misses", prop: "misses", column: "misses", as: "value" },
  { key: "lastAccess", prop: "lastAccess", column: "last_access", as: "iso" },
  { key: "staleGroupPaths", prop: "staleGroupPaths", column: "stale_group", as: "bool" },
  { key: "warnings", prop: "warnings", column: "warnings", as: "count" },
  { key: "vllmHash", prop: "vllmHash", column: "vllm_hash", as: "value", vllmOnly: true },
  { key: "rank", prop: "rank", column: "rank", as: "value", vllmOnly: true },
  { key: "prefix", prop: "prefix", column: "prefix", as: "value", vllmOnly: true },
  /** compile units (vLLM artifacts) that embed it; 0: a kernel folder on disk */
  { key: "embeddedIn", prop: "embedded", column: "embedded", as: "value" },
] as const satisfies readonly {
  key: string;
  prop: keyof KernelRow;
  column: string;
  as: "value" | "iso" | "bool" | "count";
  vllmOnly?: boolean;
}[];

/** The `--json` shape of one kernel, as KERNEL_JSON_FIELDS says. */
export function kernelJson(k: KernelRow): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of KERNEL_JSON_FIELDS) {
    if ("vllmOnly" in f && k.layout !== "vllm") continue;
    const v = k[f.prop];
    out[f.key] = f.as === "iso" ? iso(v as number | null) : f.as === "count" ? (v as unknown[]).length : v;
  }
  return out;
}
