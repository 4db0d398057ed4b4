import type { Mode } from "./types.js";

/** The filters `list` (and later `prune`) share. All combine with AND. */
export interface KernelFilters {
  name?: string;
  backend?: string;
  arch?: string;
  /** only kernels modified before now - olderThanMs */
  olderThanMs?: number;
  youngerThanMs?: number;
  cacheDir?: string;
  mode?: Mode;
  /** --cache-hit-lower N: hits < N */
  hitsBelow?: number;
  /** --cache-hit-higher N: hits > N */
  hitsAbove?: number;
  tritonVersion?: string;
}

export const SORT_FIELDS = ["name", "size", "modified", "hits", "last-access", "backend", "arch", "hash"] as const;
export type SortField = (typeof SORT_FIELDS)[number];

export interface SortSpec {
  field: SortField;
  desc: boolean;
}
