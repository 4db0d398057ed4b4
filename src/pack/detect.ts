// Where the cache sits inside an archive that carries no manifest, and its layout.
import type { LayoutName } from "../core/types.js";
import { GROUP_RE } from "../scan/group.js";
import { MANIFEST_NAME } from "./manifest.js";

/** MCV images hold the cache under one of these folders. */
export const MCV_ROOTS = ["io.triton.cache", "io.vllm.cache"];

const INDUCTOR_MARKS = ["fxgraph", "aotautograd"];

/**
 * The folder (relative to the archive top, "" for the top itself) that holds the
 * cache: where mcm-manifest.json is; else an MCV cache folder; else what the
 * layouts' own folders say (torch_compile_cache/ for vLLM; triton/<n>/,
 * fxgraph/ for Inductor; the folder holding kernel folders for Triton); else
 * the top.
 */
export function detectRoot(paths: string[]): string {
  if (paths.includes(MANIFEST_NAME)) return "";
  for (const r of MCV_ROOTS) if (paths.some((p) => p === r || p.startsWith(`${r}/`))) return r;
  const shortest = (xs: string[]) =>
    xs.reduce<string | null>((best, x) => (best === null || x.length < best.length ? x : best), null);
  const vllm = paths
    .map((p) => p.split("/"))
    .filter((parts) => parts.slice(0, -1).includes("torch_compile_cache"))
    .map((parts) => parts.slice(0, parts.indexOf("torch_compile_cache")).join("/"));
  const v = shortest(vllm);
  if (v !== null) return v;
  const fromGroups: string[] = [];
  for (const p of paths) {
    const parts = p.split("/");
    if (parts.length < 2 || !GROUP_RE.test(parts[parts.length - 1] as string)) continue;
    const tritonDir = parts.slice(0, -2);
    const n = tritonDir.length;
    if (n >= 2 && tritonDir[n - 2] === "triton" && /^\d+$/.test(tritonDir[n - 1] as string)) {
      fromGroups.push(tritonDir.slice(0, -2).join("/"));
    } else fromGroups.push(tritonDir.join("/"));
  }
  const g = shortest(fromGroups);
  if (g !== null) return g;
  const inductor = paths
    .map((p) => p.split("/"))
    .filter((parts) => INDUCTOR_MARKS.some((m) => parts.slice(0, -1).includes(m)))
    .map((parts) =>
      parts
        .slice(
          0,
          parts.findIndex((x) => INDUCTOR_MARKS.includes(x)),
        )
        .join("/"),
    );
  return shortest(inductor) ?? "";
}

/** The layout of a cache from its paths (relative to its root). */
export function layoutOfPaths(rels: string[]): LayoutName {
  if (rels.some((p) => p.startsWith("torch_compile_cache/"))) return "vllm";
  if (rels.some((p) => /^(fxgraph|aotautograd|triton\/\d+)\//.test(p))) return "inductor";
  return "triton";
}
