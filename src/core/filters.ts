import { McmError } from "./errors.js";
import type { Mode } from "./types.js";

/**
 * `--name`: the kernel's exact name (case matters), or a glob when the text
 * holds `*` (any run of characters) or `?` (any one character). Nothing else
 * is special: `[` and `]` match themselves (kernel names are identifiers, so a
 * character class would only ever be a surprise).
 */
export type NameFilter = { match: "exact"; name: string } | { match: "glob"; pattern: string };

export function parseNameFilter(text: string): NameFilter {
  if (text === "") throw new McmError("--name needs a kernel name, or a glob with * or ?");
  return /[*?]/.test(text) ? { match: "glob", pattern: text } : { match: "exact", name: text };
}

/** The filters `list`, `prune`, `export` and `push` share. All combine with AND. */
export interface KernelFilters {
  name?: NameFilter;
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
  /** only kernel folders on disk, not kernels embedded in vLLM compile units */
  onDisk?: boolean;
}

export const SORT_FIELDS = ["name", "size", "modified", "hits", "last-access", "backend", "arch", "hash"] as const;
export type SortField = (typeof SORT_FIELDS)[number];

export interface SortSpec {
  field: SortField;
  desc: boolean;
}
