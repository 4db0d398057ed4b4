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
import { type Collected, collect, relOf, skipReason } from "./collect.js";
import {
  MANIFEST_FORMAT,
  MANIFEST_NAME,
  MANIFEST_VERSION,
  MAX_MANIFEST_BYTES,
  type Manifest,
  type ManifestFile,
  type ManifestKernel,
  manifestText,
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
  manifest: Manifest;
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
function digestFile(path: string, keepText: boolean): { size: number; sha256: string; mode: number; text?: string } {
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
      return { size, sha256: hash.digest("hex"), mode: fstatSync(fd).mode, text };
    } finally {
      closeSync(fd);
    }
  } catch (e) {
    throw new McmError(`cannot read ${path}: ${(e as Error).message}`);
  }
}

/**
 * For each of `files` (in collect's order), whether it is the group file that
 * speaks for its folder: the last one there, as a map by folder would keep.
 */
function countedGroups(files: { rel: string }[]): Uint8Array {
  const counted = new Uint8Array(files.length);
  const seen = new Set<string>();
  for (let i = files.length - 1; i >= 0; i--) {
    const rel = (files[i] as { rel: string }).rel;
    const slash = rel.lastIndexOf("/");
    if (slash < 0 || !GROUP_RE.test(rel.slice(slash + 1))) continue;
    const dir = rel.slice(0, slash);
    if (!seen.has(dir)) counted[i] = 1;
    seen.add(dir);
  }
  return counted;
}

/** The tar entries in archive order: dirs ("name/") merged with files, each made only when the writer asks. */
function* tarEntries(root: string, dirs: string[], files: ManifestFile[], exec: Uint8Array): Generator<TarEntry> {
  let d = 0;
  for (let i = 0; i < files.length; i++) {
    const f = files[i] as ManifestFile;
    while (d < dirs.length && compareUtf8(`${dirs[d]}/`, f.path) < 0) yield { name: dirs[d++] as string, type: "dir" };
    const mode = exec[i] ? 0o755 : 0o644;
    yield { name: f.path, type: "file", source: `${root}/${f.path}`, size: f.size, sha256: f.sha256, mode };
  }
  while (d < dirs.length) yield { name: dirs[d++] as string, type: "dir" };
}

/** The manifest as a tar entry whose bytes are made twice (to count, then to write), never held whole. */
function manifestEntry(m: Manifest, cap: number): TarEntry {
  const entry = textEntry(MANIFEST_NAME, () => manifestText(m));
  // an archive that `mcm import` would refuse is not written at all
  if (entry.size > cap)
    throw new McmError(
      `this export's ${MANIFEST_NAME} would be ${(entry.size / 1e6).toFixed(1)} MB (${m.files.length} files), over the ` +
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
  const found: Collected = { dirs: [], files: [], skipped: [] };
  if (o.kernels) {
    const parents = new Set<string>();
    for (const dir of [...picked, ...(o.folders ?? [])]) {
      if (!isInside(root, dir) || dir === root) throw new McmError(`${dir} is not inside ${root}`);
      const rel = relOf(root, dir);
      const parts = rel.split("/");
      for (let i = 1; i <= parts.length; i++) parents.add(parts.slice(0, i).join("/"));
      collect(root, dir, found);
    }
    found.dirs.push(...parents);
  } else collect(root, root, found);

  // the sourceRoot vote is counted as group files are read: no file's text outlives its digest
  const kernelDirs = new Set(kernels.map((k) => k.path));
  const counted = countedGroups(found.files);
  const votes = new OriginVotes();
  const read: ManifestFile[] = [];
  const readExec = new Uint8Array(found.files.length);
  for (const [i, { rel }] of found.files.entries()) {
    const dir = counted[i] === 1 ? rel.slice(0, Math.max(0, rel.lastIndexOf("/"))) : "";
    const vote = dir !== "" && kernelDirs.has(dir);
    const { size, sha256, mode, text } = digestFile(`${root}/${rel}`, vote);
    read.push({ path: rel, size, sha256 });
    readExec[i] = mode & 0o100 ? 1 : 0;
    if (vote) votes.add(dir, text as string);
  }
  kernelDirs.clear();
  found.files = [];
  const order = Uint32Array.from(read.keys()).sort((a, b) =>
    compareUtf8((read[a] as ManifestFile).path, (read[b] as ManifestFile).path),
  );
  const files = Array.from(order, (i) => read[i] as ManifestFile);
  const exec = Uint8Array.from(order, (i) => readExec[i] as number);
  read.length = 0;
  const manifestKernels = kernels.concat(embeddedKernels(root, walk)).sort((a, b) => compareUtf8(a.path, b.path));
  kernels.length = 0;
  const manifest: Manifest = {
    format: MANIFEST_FORMAT,
    formatVersion: MANIFEST_VERSION,
    layout,
    scope: o.kernels ? "kernels" : "cache",
    sourceRoot: votes.best(),
    kernels: manifestKernels,
    files,
    totals: { kernels: manifestKernels.length, files: files.length, bytes: files.reduce((s, f) => s + f.size, 0) },
  };
  const dirs = found.dirs.sort((a, b) => compareUtf8(`${a}/`, `${b}/`));
  const written = await writeTarGz(tarEntries(root, dirs, files, exec), o.out, {
    head: [manifestEntry(manifest, o.maxManifestBytes ?? MAX_MANIFEST_BYTES)],
    level: o.level,
    linkIdentical: true,
    presorted: true,
  });
  found.skipped.sort((a, b) => compareUtf8(a.path, b.path));
  return {
    out: o.out,
    root,
    layout,
    bytes: written.bytes,
    sha256: written.sha256,
    manifest,
    skipped: found.skipped,
    warnings,
  };
}
