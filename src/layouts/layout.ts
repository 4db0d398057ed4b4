import type { LayoutName, OtherKind, ScanWarning, UnitSpec, VllmContext } from "../core/types.js";

/** What a layout finds when it walks a root's structure (not the kernel folders). */
export interface WalkResult {
  /** folders whose children are Triton kernel folders */
  tritonDirs: { path: string; ctx: VllmContext }[];
  /** vLLM compile units (artifact files and folders, AOT models): read whole, never rewritten */
  units: UnitSpec[];
  /** vLLM folders that hold cache_key_factors.json: what made the units in them */
  compileDirs: { path: string; ctx: VllmContext }[];
  /** non-kernel artifacts (a file or a whole folder), counted with their bytes */
  artifacts: { path: string; kind: OtherKind }[];
  /** folders whose mtime changes when kernel folders come or go */
  watchDirs: string[];
  warnings: ScanWarning[];
}

export interface Layout {
  name: LayoutName;
  /** does a root holding these top-level names look like this layout? */
  detect(has: (name: string) => boolean): boolean;
  walk(root: string, out: WalkResult, ctx: VllmContext): void;
}

export const NO_VLLM: VllmContext = { vllmHash: null, rank: null, prefix: null };

export function emptyWalk(): WalkResult {
  return { tritonDirs: [], units: [], compileDirs: [], artifacts: [], watchDirs: [], warnings: [] };
}
