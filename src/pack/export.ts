// `mcm export`: a cache root (or the kernel folders a filter picked) as a
// deterministic .tar.gz, its manifest first.
import { createHash } from "node:crypto";
import { closeSync, constants, fstatSync, openSync, readdirSync, readSync } from "node:fs";
import { McmError } from "../core/errors.js";
import { interner } from "../core/intern.js";
import type { LayoutName, Mode, ScanWarning } from "../core/types.js";
import { emptyWalk, layoutFor, NO_VLLM, type WalkResult } from "../layouts/index.js";
import { resolveCacheDir } from "../scan/cache-dir.js";
import { readEntry } from "../scan/entry.js";
import { GROUP_RE, OriginVotes } from "../scan/group.js";
import { isInside } from "../scan/util.js";
import { readUnit, type UnitMemo } from "../scan/vllm-unit.js";
import { relOf, skipReason } from "./collect.js";
import { FileTree, TOP } from "./file-tree.js";
import {
  MANIFEST_FORMAT,
  MANIFEST_NAME,
  MANIFEST_VERSION,
  MAX_MANIFEST_BYTES,
  type ManifestFile,
  type ManifestKernel,
  manifestText,
  type WrittenManifest,
} from "./manifest.js";
import { compareUtf8, type TarEntry, writeTarGz } from "./tar.js";
import { textEntry } from "./text-entry.js";

export interface ExportOptions {
  /** the cache root */
  root: string;
  /** its layout; default auto-detected as `mcm index` does */
  mode?: Mode;
  /** absolute kernel folders under `root` to export; omitted: the whole root */
  kernels?: string[];
  /** with `kernels`: vLLM compile folders to export whole (units ship whole) */
  folders?: string[];
  /** the .tar.gz to write (through a temp file beside it and a rename) */
  out: string;
  /** gzip level (default 6) */
  level?: number;
  /** the biggest manifest written: what `mcm import` reads (MAX_MANIFEST_BYTES) */
  maxManifestBytes?: number;
}

export interface ExportResult {
  out: string;
  root: string;
  layout: LayoutName;
  /** bytes of the archive and their sha256 */
  bytes: number;
  sha256: string;
  manifest: WrittenManifest;
  /** what was left out, and why (mcm's own files, writes in flight, links, locks) */
  skipped: { path: string; reason: string }[];
  warnings: ScanWarning[];
}

/** The distinct kernels the layout's vLLM compile units embed, as the manifest lists them. */
function embeddedKernels(root: string, walk: WalkResult): ManifestKernel[] {
  const out = new Map<string, ManifestKernel>();
  const memo: UnitMemo = new Map(); // a byte-identical copy is read once
  for (const spec of walk.units) {
    for (const k of readUnit(spec, root, memo).kernels) {
      const path = `${relOf(root, spec.container)}#${k.hash}`;
      out.set(path, { path, name: k.name, backend: k.backend, arch: k.arch, tritonVersion: k.tritonVersion });
    }
  }
  return [...out.values()];
}

/** What export keeps of a kernel: its manifest record and warnings, not its files or metadata text. */
interface FoundKernel {
  abs: string;
  kernel: ManifestKernel;
  warnings: ScanWarning[];
}

/** The kernels among the children of the layout's Triton dirs (`walk`), or among `only`, one at a time. */
function* findKernels(
  root: string,
  layout: LayoutName,
  walk: WalkResult,
  only: string[] | undefined,
): Generator<FoundKernel> {
  // a kernel's few strings that repeat (names, backends, arches, versions) are held once
  const intern = interner();
  const read = (path: string, container: string, rel: string): FoundKernel | null => {
    const r = readEntry(path, true, 0, { root, layout, dir: { path: container, ...NO_VLLM } });
    if (r.kind !== "kernel") return null;
    const { name, backend, arch, tritonVersion } = r;
    return {
      abs: r.path,
      kernel: {
        path: rel,
        name: intern(name),
        backend: intern(backend),
        arch: intern(arch),
        tritonVersion: tritonVersion === null ? null : intern(tritonVersion),
      },
      warnings: r.warnings,
    };
  };
  if (only) {
    for (const p of only) {
      if (!isInside(root, p) || p === root) throw new McmError(`kernel ${p} is not inside ${root}`);
      const k = read(p, p.slice(0, p.lastIndexOf("/")), relOf(root, p));
      if (!k) throw new McmError(`${p} is not a kernel folder (any more): run \`mcm index\` and try again`);
      yield k;
    }
    return;
  }
  for (const td of walk.tritonDirs) {
    // built from the folder's relative name: a slice of each absolute path would keep it alive
    const relDir = relOf(root, td.path);
    for (const d of readdirSync(td.path, { withFileTypes: true })) {
      if (!d.isDirectory() || skipReason(d.name)) continue;
      const k = read(`${td.path}/${d.name}`, td.path, relDir === "" ? d.name : `${relDir}/${d.name}`);
      if (k) yield k;
    }
  }
}

/** One buffer for every read: a buffer a file (a million of them) left RSS far above the live heap. */
const READ_BUFFER = Buffer.allocUnsafe(1 << 20);

/** A file's size, sha256 and mode, read through READ_BUFFER; with `keepText`, its text too. */
function digestFile(path: string, keepText: boolean): { size: number; sha256: Buffer; mode: number; text?: string } {
  try {
    const fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW);
    try {
      const hash = createHash("sha256");
      const parts: Buffer[] = [];
      let size = 0;
      for (let n = readSync(fd, READ_BUFFER); n > 0; n = readSync(fd, READ_BUFFER)) {
        const chunk = READ_BUFFER.subarray(0, n);
        hash.update(chunk);
        if (keepText) parts.push(Buffer.from(chunk));
        size += n;
      }
      const text = keepText ? Buffer.concat(parts).toString("utf8") : undefined;
      return { size, sha256: hash.digest(), mode: fstatSync(fd).mode, text };
    } finally {
      closeSync(fd);
    }
  } catch (e) {
    throw new McmError(`cannot read ${path}: ${(e as Error).message}`);
  }
}

/**
 * For each node of `tree`, whether it is the group file that speaks for its
 * folder: the last one the walk found there, as a map by folder would keep.
 */
function countedGroups(tree: FileTree): Uint8Array {
  const counted = new Uint8Array(tree.count);
  const seen = new Set<number>();
  for (let i = tree.count - 1; i >= 0; i--) {
    if (tree.isDir(i) || !GROUP_RE.test(tree.name(i)) || seen.has(tree.parent(i))) continue;
    counted[i] = 1;
    seen.add(tree.parent(i));
  }
  return counted;
}

/** The files export read: the walk's tree, and each file's sha256 (32 bytes a node). */
class ReadFiles {
  /** every node, in the archive's order (one sort, for the manifest and the tar entries both) */
  private readonly all: Int32Array;
  /** the file nodes, in that order */
  readonly order: Int32Array;

  constructor(
    readonly tree: FileTree,
    private readonly digests: Uint8Array,
  ) {
    this.all = tree.order();
    this.order = this.all.filter((i) => !tree.isDir(i));
  }

  sha256(node: number): string {
    return Buffer.from(this.digests.buffer, this.digests.byteOffset + node * 32, 32).toString("hex");
  }

  /** The manifest's file records, made each time they are iterated. */
  records(): Iterable<ManifestFile> {
    const self = this;
    return {
      *[Symbol.iterator]() {
        for (const { node, path } of self.tree.withPaths(self.order)) {
          yield { path, size: self.tree.size(node), sha256: self.sha256(node) };
        }
      },
    };
  }

  /** The tar entries in archive order, folders ("name/") among the files, each made when the writer asks. */
  *entries(root: string): Generator<TarEntry> {
    const tree = this.tree;
    for (const { node, path } of tree.withPaths(this.all)) {
      if (tree.isDir(node)) {
        yield { name: path, type: "dir" };
        continue;
      }
      const mode = tree.isExec(node) ? 0o755 : 0o644;
      const size = tree.size(node);
      yield { name: path, type: "file", source: `${root}/${path}`, size, sha256: this.sha256(node), mode, id: node };
    }
  }
}

/**
 * Reads every file of `tree` (in the walk's order: the disk's), counting the
 * sourceRoot vote of each kernel folder's group file as it goes: no file's
 * text outlives its digest.
 */
function readFiles(root: string, tree: FileTree, kernelDirs: Set<string>, votes: OriginVotes): ReadFiles {
  const counted = countedGroups(tree);
  const digests = new Uint8Array(tree.count * 32);
  const files: number[] = [];
  for (let i = 0; i < tree.count; i++) if (!tree.isDir(i)) files.push(i);
  for (const { node, path } of tree.withPaths(files)) {
    const dir = counted[node] === 1 && tree.parent(node) !== TOP ? path.slice(0, path.lastIndexOf("/")) : "";
    const vote = dir !== "" && kernelDirs.has(dir);
    const { size, sha256, mode, text } = digestFile(`${root}/${path}`, vote);
    digests.set(sha256, node * 32);
    tree.setFile(node, size, (mode & 0o100) !== 0);
    if (vote) votes.add(dir, text as string);
  }
  return new ReadFiles(tree, digests);
}

/** The manifest as a tar entry whose bytes are made twice (to count, then to write), never held whole. */
function manifestEntry(m: WrittenManifest, cap: number): TarEntry {
  const entry = textEntry(MANIFEST_NAME, () => manifestText(m));
  // an archive that `mcm import` would refuse is not written at all
  if (entry.size > cap)
    throw new McmError(
      `this export's ${MANIFEST_NAME} would be ${(entry.size / 1e6).toFixed(1)} MB (${m.totals.files} files), over the ` +
        `${cap / 2 ** 20} MiB that mcm import reads: export fewer kernels (--name, --older-than, --cache-dir)`,
    );
  return entry;
}

/**
 * Writes the cache at `o.root` (or only `o.kernels`) to `o.out` as a
 * deterministic .tar.gz whose first entry is mcm-manifest.json. The same
 * content gives the same bytes, wherever the cache sits and whatever its mtimes.
 */
export async function exportArchive(o: ExportOptions): Promise<ExportResult> {
  const root = resolveCacheDir(o.root);
  const mode = o.mode ?? "auto";
  const plugin = layoutFor(mode, root);
  const layout = plugin.name;
  const walk = emptyWalk();
  if (!o.kernels) plugin.walk(root, walk, NO_VLLM);
  const kernels: ManifestKernel[] = [];
  const warnings: ScanWarning[] = [];
  const picked: string[] = [];
  for (const k of findKernels(root, layout, walk, o.kernels)) {
    kernels.push(k.kernel);
    warnings.push(...k.warnings);
    if (o.kernels) picked.push(k.abs);
  }
  const tree = new FileTree();
  const skipped: { path: string; reason: string }[] = [];
  if (o.kernels) {
    for (const dir of [...picked, ...(o.folders ?? [])]) {
      if (!isInside(root, dir) || dir === root) throw new McmError(`${dir} is not inside ${root}`);
      const rel = relOf(root, dir);
      tree.walk(dir, tree.folderAt(rel), (r, reason) => skipped.push({ path: `${rel}/${r}`, reason }), false);
    }
  } else tree.walk(root, TOP, (path, reason) => skipped.push({ path, reason }), false);

  const kernelDirs = new Set(kernels.map((k) => k.path));
  const votes = new OriginVotes();
  const read = readFiles(root, tree, kernelDirs, votes);
  kernelDirs.clear();
  const manifestKernels = kernels.concat(embeddedKernels(root, walk)).sort((a, b) => compareUtf8(a.path, b.path));
  kernels.length = 0;
  let bytes = 0;
  for (const i of read.order) bytes += tree.size(i);
  const manifest: WrittenManifest = {
    format: MANIFEST_FORMAT,
    formatVersion: MANIFEST_VERSION,
    layout,
    scope: o.kernels ? "kernels" : "cache",
    sourceRoot: votes.best(),
    kernels: manifestKernels,
    files: read.records(),
    totals: { kernels: manifestKernels.length, files: read.order.length, bytes },
  };
  const written = await writeTarGz(read.entries(root), o.out, {
    head: [manifestEntry(manifest, o.maxManifestBytes ?? MAX_MANIFEST_BYTES)],
    level: o.level,
    linkIdentical: true,
    presorted: true,
    nameOf: (id) => tree.path(id),
  });
  skipped.sort((a, b) => compareUtf8(a.path, b.path));
  return {
    out: o.out,
    root,
    layout,
    bytes: written.bytes,
    sha256: written.sha256,
    manifest,
    skipped,
    warnings,
  };
}
