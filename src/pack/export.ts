// `mcm export`: a cache root (or the kernel folders a filter picked) as a
// deterministic .tar.gz, its manifest first.
import { createHash } from "node:crypto";
import { closeSync, constants, fstatSync, openSync, readdirSync, readFileSync } from "node:fs";
import { McmError } from "../core/errors.js";
import type { KernelRecord, LayoutName, Mode, ScanWarning } from "../core/types.js";
import { emptyWalk, layoutFor, NO_VLLM, type WalkResult } from "../layouts/index.js";
import { resolveCacheDir } from "../scan/cache-dir.js";
import { readEntry } from "../scan/entry.js";
import { GROUP_RE, groupOrigin } from "../scan/group.js";
import { isInside } from "../scan/util.js";
import { readUnit, type UnitMemo } from "../scan/vllm-unit.js";
import { type Collected, collect, relOf, skipReason } from "./collect.js";
import {
  MANIFEST_FORMAT,
  MANIFEST_NAME,
  MANIFEST_VERSION,
  type Manifest,
  type ManifestFile,
  type ManifestKernel,
} from "./manifest.js";
import { type TarEntry, writeTarGz } from "./tar.js";

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

/** The kernels among the children of the layout's Triton dirs (`walk`), or among `only`. */
function findKernels(root: string, layout: LayoutName, walk: WalkResult, only: string[] | undefined): KernelRecord[] {
  const read = (path: string, container: string): KernelRecord | null => {
    const r = readEntry(path, true, 0, { root, layout, dir: { path: container, ...NO_VLLM } });
    return r.kind === "kernel" ? r : null;
  };
  if (only) {
    return only.map((p) => {
      if (!isInside(root, p) || p === root) throw new McmError(`kernel ${p} is not inside ${root}`);
      const k = read(p, p.slice(0, p.lastIndexOf("/")));
      if (!k) throw new McmError(`${p} is not a kernel folder (any more): run \`mcm index\` and try again`);
      return k;
    });
  }
  const out: KernelRecord[] = [];
  for (const td of walk.tritonDirs) {
    for (const d of readdirSync(td.path, { withFileTypes: true })) {
      if (!d.isDirectory() || skipReason(d.name)) continue;
      const k = read(`${td.path}/${d.name}`, td.path);
      if (k) out.push(k);
    }
  }
  return out;
}

function readFile(path: string): { data: Buffer; mode: number } {
  try {
    const fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW);
    try {
      return { data: readFileSync(fd), mode: fstatSync(fd).mode };
    } finally {
      closeSync(fd);
    }
  } catch (e) {
    throw new McmError(`cannot read ${path}: ${(e as Error).message}`);
  }
}

const byBytes = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));

/** The root most group files point at (where the cache was compiled). */
function sourceRoot(root: string, kernels: KernelRecord[], groupText: Map<string, string>): string | null {
  const groups = kernels.flatMap((k) => {
    const text = groupText.get(k.path);
    return text === undefined ? [] : [{ rel: relOf(root, k.path), text }];
  });
  return groupOrigin(groups);
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
  const kernels = findKernels(root, layout, walk, o.kernels);
  const found: Collected = { dirs: [], files: [], skipped: [] };
  if (o.kernels) {
    const parents = new Set<string>();
    for (const dir of [...kernels.map((k) => k.path), ...(o.folders ?? [])]) {
      if (!isInside(root, dir) || dir === root) throw new McmError(`${dir} is not inside ${root}`);
      const rel = relOf(root, dir);
      const parts = rel.split("/");
      for (let i = 1; i <= parts.length; i++) parents.add(parts.slice(0, i).join("/"));
      collect(root, dir, found);
    }
    found.dirs.push(...parents);
  } else collect(root, root, found);

  const warnings = kernels.flatMap((k) => k.warnings);
  const groupText = new Map<string, string>();
  const files: ManifestFile[] = [];
  const entries: TarEntry[] = found.dirs.map((d) => ({ name: d, type: "dir" }));
  for (const f of found.files) {
    const { data, mode } = readFile(f.abs);
    const sha256 = createHash("sha256").update(data).digest("hex");
    files.push({ path: f.rel, size: data.length, sha256 });
    const slash = f.abs.lastIndexOf("/");
    if (GROUP_RE.test(f.abs.slice(slash + 1))) groupText.set(f.abs.slice(0, slash), data.toString("utf8"));
    entries.push({ name: f.rel, type: "file", source: f.abs, size: data.length, sha256, mode });
  }
  files.sort((a, b) => byBytes(a.path, b.path));
  const manifestKernels: ManifestKernel[] = kernels
    .map((k) => ({
      path: relOf(root, k.path),
      name: k.name,
      backend: k.backend,
      arch: k.arch,
      tritonVersion: k.tritonVersion,
    }))
    .concat(embeddedKernels(root, walk))
    .sort((a, b) => byBytes(a.path, b.path));
  const manifest: Manifest = {
    format: MANIFEST_FORMAT,
    formatVersion: MANIFEST_VERSION,
    layout,
    scope: o.kernels ? "kernels" : "cache",
    sourceRoot: sourceRoot(root, kernels, groupText),
    kernels: manifestKernels,
    files,
    totals: { kernels: manifestKernels.length, files: files.length, bytes: files.reduce((s, f) => s + f.size, 0) },
  };
  const data = Buffer.from(`${JSON.stringify(manifest, null, 1)}\n`);
  const written = await writeTarGz(entries, o.out, {
    head: [{ name: MANIFEST_NAME, type: "file", data }],
    level: o.level,
    linkIdentical: true,
  });
  found.skipped.sort((a, b) => byBytes(a.path, b.path));
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
