// Packs a warmed capture into an archive that `mcm import` reads (mcm-manifest.json first).
import { copyFileSync } from "node:fs";
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
