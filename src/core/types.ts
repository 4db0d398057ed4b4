// Records a scan produces. Plain data: no I/O here.

export type LayoutName = "triton" | "inductor" | "vllm";
export type Mode = LayoutName | "auto";

export type FileKind = "metadata" | "group" | "binary" | "ir" | "asm" | "other";

/** One file of a kernel folder: [name, kind, size in bytes]. */
export interface KernelFile {
  name: string;
  kind: FileKind;
  size: number;
}

export interface ScanWarning {
  path: string;
  code: WarningCode;
  message: string;
}

export type WarningCode =
  | "bad-json"
  | "unreadable"
  | "permission"
  | "group-outside"
  | "symlink-escape"
  | "bad-name"
  | "missing-metadata"
  | "missing-binary"
  | "outside-root"
  | "vanished"
  | "changed"
  | "bad-artifact";

/** Where a Triton cache dir sits inside a vLLM cache (all null elsewhere). */
export interface VllmContext {
  vllmHash: string | null;
  rank: string | null;
  prefix: string | null;
}

/** A folder holding Triton kernel folders, found by a layout. */
export interface TritonDir extends VllmContext {
  path: string;
}

/** What a kernel is, from its metadata and its files (scan/kernel-facts.ts): on disk or embedded. */
export interface KernelFacts {
  name: string;
  backend: string;
  arch: string;
  warpSize: number | null;
  numWarps: number | null;
  numStages: number | null;
  numCtas: number | null;
  shared: number | null;
  tritonVersion: string | null;
  files: KernelFile[];
  totalSize: number;
  irSize: number;
  asmSize: number;
}

export interface KernelRecord extends VllmContext, KernelFacts {
  kind: "kernel";
  path: string;
  root: string;
  container: string;
  layout: LayoutName;
  key: string;
  /** mtime of the kernel folder itself: changes when files come or go. */
  dirMtime: number;
  /** newest file mtime, in ms since the epoch. */
  modifiedTime: number;
  /** the metadata JSON as read from disk, or null when missing or unreadable. */
  metadata: string | null;
  staleGroupPaths: boolean;
  /** compile units that embed this kernel (a vLLM artifact); 0 for a kernel folder on disk */
  embedded: number;
  warnings: ScanWarning[];
}

/**
 * How vLLM saved a compile unit: `legacy` Inductor and Triton cache folders;
 * `binary` and `unpacked` Inductor standalone-compile artifacts (a file, a
 * folder); `aot` and `mega-aot` a `model` file per rank under torch_aot_compile.
 */
export type UnitFormat = "binary" | "unpacked" | "aot" | "mega-aot";

/** A compile unit a layout found: what to read. */
export interface UnitSpec extends VllmContext {
  path: string;
  /** the folder holding it: the rank or prefix folder */
  container: string;
  format: UnitFormat;
  /** compile range (a batch-size range) and piecewise subgraph, from the name */
  rangeStart: number | null;
  rangeEnd: number | null;
  subgraph: number | null;
}

export interface UnitRecord extends UnitSpec {
  root: string;
  bytes: number;
  files: number;
  /** newest mtime in ms; -1 when it vanished */
  mtime: number;
  /** "<size>:<crc32>" of a file's content; null for a folder */
  digest: string | null;
  /** "<dev>:<ino>" of a file: hard-linked copies share it */
  inode: string | null;
  warnings: ScanWarning[];
}

/** Everything in a cache that is not a kernel: counted by kind, never dropped. */
export type OtherKind =
  | "launcher"
  | "utils"
  | "autotune"
  | "tmp"
  | "inductor-code"
  | "inductor-fxgraph"
  | "inductor-aotautograd"
  | "inductor-other"
  | "vllm-artifact"
  | "other";

export interface OtherRecord {
  kind: OtherKind;
  path: string;
  root: string;
  container: string;
  bytes: number;
  files: number;
  dirMtime: number;
  warnings: ScanWarning[];
}

export type EntryRecord = KernelRecord | OtherRecord;

/** What one `index` run did to the index of one root. */
export interface IndexSummary {
  root: string;
  layout: LayoutName;
  kernels: number;
  added: number;
  updated: number;
  removed: number;
  unchanged: number;
  warnings: ScanWarning[];
  /** hit-log events read in this run (python/mcm_tracker.py) */
  hits: { events: number; skipped: number; logs: number; removed: number };
  seconds: number;
}

/** A kernel as the index holds it: what `list --json` and `show` build on. */
export interface KernelRow extends VllmContext {
  path: string;
  root: string;
  container: string;
  layout: LayoutName;
  key: string;
  name: string;
  backend: string;
  arch: string;
  warpSize: number | null;
  numWarps: number | null;
  numStages: number | null;
  numCtas: number | null;
  shared: number | null;
  tritonVersion: string | null;
  totalSize: number;
  irSize: number;
  asmSize: number;
  fileCount: number;
  modifiedTime: number;
  staleGroupPaths: boolean;
  embedded: number;
  warnings: ScanWarning[];
  firstSeen: number;
  hits: number;
  misses: number;
  lastAccess: number | null;
}

/** One indexed cache root. */
export interface RootRow {
  path: string;
  layout: LayoutName;
  indexedAt: number;
  warnings: ScanWarning[];
  /** folder -> mtime when last indexed */
  watch: Record<string, number>;
  /** Triton dir -> name bucket -> digest of names and mtimes when last indexed */
  digests: Record<string, Record<string, number>>;
}
