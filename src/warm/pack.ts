// Packs a warmed capture into an archive that `mcm import` reads (mcm-manifest.json first).
import { copyFileSync, existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { LayoutName } from "../core/types.js";
import { exportArchive } from "../pack/export.js";
import { WARM_MANIFEST } from "./manifest.js";

export interface PackResult {
  path: string;
  bytes: number;
  sha256: string;
  /** the folder the archive holds, relative to the capture folder ("." for all of it) */
  holds: string;
}

/**
 * One cache that holds something is archived as that cache (it imports straight into a cache dir);
 * several (a torch.compile run fills Triton's and Inductor's) are archived together as the capture folder.
 */
export async function packCapture(
  folder: string,
  roots: { path: string; layout: LayoutName }[],
  out: string,
): Promise<PackResult> {
  const only = roots.length === 1 ? roots[0] : undefined;
  // the warm manifest travels inside the archive, whichever folder it holds
  if (only && only.path !== folder) copyFileSync(join(folder, WARM_MANIFEST), join(only.path, WARM_MANIFEST));
  const r = only
    ? await exportArchive({ root: only.path, mode: only.layout, out })
    : await exportArchive({ root: folder, out });
  const holds = only && only.path !== folder ? only.path.slice(folder.length + 1) : ".";
  return { path: r.out, bytes: r.bytes, sha256: r.sha256, holds };
}

/**
 * The caches inside an imported capture folder (an archive of several caches, as `mcm warm` host mode
 * packs them): each must be indexed with its own layout. Undefined for any other folder.
 */
export function capturedRoots(folder: string): { path: string; layout: LayoutName }[] | undefined {
  let m: { caches?: { path?: unknown; layout?: unknown }[] };
  try {
    m = JSON.parse(readFileSync(join(folder, WARM_MANIFEST), "utf8"));
  } catch {
    return undefined;
  }
  const caches = (m.caches ?? []).filter(
    (c): c is { path: string; layout: LayoutName } =>
      typeof c.path === "string" &&
      /^[a-z]+$/.test(c.path) &&
      (c.layout === "triton" || c.layout === "inductor" || c.layout === "vllm"),
  );
  if (caches.length < 2) return undefined;
  return caches.map((c) => ({ path: join(folder, c.path), layout: c.layout })).filter((c) => existsSync(c.path));
}
