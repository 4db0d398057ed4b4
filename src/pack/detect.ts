// Where the cache sits inside an archive that carries no manifest, and its layout.
import type { LayoutName } from "../core/types.js";
import { GROUP_RE } from "../scan/group.js";
import { MANIFEST_NAME } from "./manifest.js";
import { checkManifestSize, ManifestReader } from "./manifest-read.js";
import { readTar } from "./tar-read.js";

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
export function layoutOfPaths(rels: Iterable<string>): LayoutName {
  let inductor = false;
  for (const p of rels) {
    if (p.startsWith("torch_compile_cache/")) return "vllm";
    inductor ||= /^(fxgraph|aotautograd|triton\/\d+)\//.test(p);
  }
  return inductor ? "inductor" : "triton";
}

/**
 * The layout of the cache in an archive, read from as little of it as tells:
 * the manifest (its first entry), else the first path that only one layout has.
 */
export async function peekLayout(archive: string): Promise<LayoutName> {
  const signal = { stop: false };
  let found: LayoutName | null = null;
  let first = true;
  await readTar(
    archive,
    (h) => {
      const name = h.name.replace(/^(\.\/)+/, "");
      const wasFirst = first;
      first = false;
      if (wasFirst && name === MANIFEST_NAME) {
        checkManifestSize(h.size);
        // only its layout is wanted: its records are read and dropped
        const reader = new ManifestReader(undefined, { onFile: () => {}, dropKernels: true });
        return (c) => {
          if (c) reader.write(c);
          else {
            found = reader.end().layout;
            signal.stop = true;
          }
        };
      }
      const parts = name.split("/");
      if (parts[0] === "io.vllm.cache" || parts.slice(0, -1).includes("torch_compile_cache")) found = "vllm";
      else if (parts[0] === "io.triton.cache") found = "triton";
      else if (parts.slice(0, -1).some((p) => INDUCTOR_MARKS.includes(p))) found = "inductor";
      else if (GROUP_RE.test(parts[parts.length - 1] as string)) {
        const n = parts.length;
        found = n >= 4 && parts[n - 4] === "triton" && /^\d+$/.test(parts[n - 3] as string) ? "inductor" : "triton";
      }
      if (found) signal.stop = true;
      return undefined;
    },
    signal,
  );
  return found ?? "triton";
}
