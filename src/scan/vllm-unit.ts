// Reads one vLLM compile unit (an Inductor standalone-compile artifact, a
// folder it was unpacked to, or an AOT `model` file) and the Triton kernels it
// embeds. Never executes or unpickles anything; a unit that cannot be read is
// one warning, and its bytes still count.
import { closeSync, fstatSync, lstatSync, readdirSync, readSync } from "node:fs";
import { crc32 } from "node:zlib";
import { jsonTooDeep } from "../core/json-depth.js";
import type { ScanWarning, UnitRecord, UnitSpec } from "../core/types.js";
import { NotPlainFile, openPlain } from "../safe-fs.js";
import { type ByteSource, fileSource } from "./byte-source.js";
import { GROUP_RE } from "./group.js";
import { asObject, type KernelFacts, kernelFacts } from "./kernel-facts.js";
import { PickleError } from "./pickle.js";
import {
  ArtifactError,
  type BundledKernel,
  type BundleMarks,
  bundledKernels,
  readStandaloneArtifact,
} from "./torch-artifact.js";
import { errorCode, warn } from "./util.js";

/** A kernel inside a compile unit. */
export interface EmbeddedKernel extends KernelFacts {
  /** the Triton cache key (the folder name it is restored to) */
  key: string;
  /** the metadata's `hash`: what tells two kernels apart */
  hash: string;
  metadata: string | null;
}

/** Bigger units are sized, not read: no artifact PyTorch writes comes near. */
export const MAX_UNIT_BYTES = 2 * 1024 ** 3;
const MAX_METADATA_BYTES = 1 << 20;
const MAX_FOLDER_FILES = 100_000;

const utf8 = new TextDecoder("utf-8");

/**
 * What standalone artifacts already read in this run embed, by size and stored
 * CRC32: vLLM writes many byte-identical artifacts (identical layers), and a
 * copy is read once. (A forged CRC can only make mcm report the other copy's
 * kernels; nothing is linked or removed on its word.)
 */
export type UnitMemo = Map<string, { kernels: EmbeddedKernel[]; format: UnitSpec["format"] }>;

export function readUnit(spec: UnitSpec, root: string, memo?: UnitMemo): UnitRecord & { kernels: EmbeddedKernel[] } {
  const warnings: ScanWarning[] = [];
  const base = { ...spec, root, warnings, digest: null as string | null, inode: null as string | null };
  const st = lstatSync(spec.path, { throwIfNoEntry: false });
  if (!st) return { ...base, bytes: 0, files: 0, mtime: -1, kernels: [] };
  if (st.isDirectory()) {
    const r = readFolder(spec.path, warnings);
    return { ...base, bytes: r.bytes, files: r.files, mtime: r.mtime, kernels: distinct(r.kernels) };
  }
  const file = openCapped(spec.path, warnings);
  if (!file) return { ...base, bytes: st.size, files: 1, mtime: st.mtimeMs, kernels: [] };
  const inode = `${file.dev}:${file.ino}`;
  const src = fileSource(file.fd, file.size);
  let kernels: EmbeddedKernel[] = [];
  let digest: string | null = null;
  const marks: BundleMarks = { megaAot: false };
  try {
    // the name says which: an AOT `model` is a bare pickle (no stored CRC: its own is computed);
    // an artifact is a byte stream, whose CRC32 may well start with a pickle's 0x80
    if (spec.format === "aot") {
      kernels = bundledKernels(src, undefined, undefined, marks).flatMap((k) => embedded(k));
      digest = digestOf(src);
    } else {
      // standalone artifacts are byte streams of pickles; their stored CRC32 tells copies apart
      // (a hint: links are made only after the bytes compare equal)
      const head = src.view(0, 4);
      const known = head.length === 4 ? memo?.get(`${file.size}:${Buffer.from(head).toString("hex")}`) : undefined;
      if (known) {
        const d = `${file.size}:${Buffer.from(head).toString("hex")}`;
        return {
          ...base,
          format: known.format,
          bytes: file.size,
          files: 1,
          mtime: file.mtime,
          digest: d,
          inode,
          kernels: known.kernels,
        };
      }
      const art = readStandaloneArtifact(src);
      digest = `${file.size}:${art.storedCrc}`;
      const pickles = art.aotPickle ? [art.aotPickle] : art.entries.map((e) => e.content);
      for (const r of pickles) {
        if (r.length < 2 || src.view(r.offset, 1)[0] !== 0x80) continue; // autotune results are JSON
        if (!mayBundle(src, r)) continue;
        for (const k of bundledKernels(src, r, undefined, marks)) kernels.push(...embedded(k));
      }
    }
  } catch (e) {
    if (!(e instanceof ArtifactError || e instanceof PickleError || e instanceof RangeError)) throw e;
    warnings.push(warn(spec.path, "bad-artifact", `cannot read the artifact: ${e.message}`));
    digest ??= digestOf(src);
  } finally {
    closeSync(file.fd);
  }
  // vLLM's AOT model carries compiled code only as a mega artifact; otherwise it loads the JIT cache
  const format = spec.format === "aot" && marks.megaAot ? "mega-aot" : spec.format;
  kernels = distinct(kernels);
  if (memo && digest && warnings.length === 0 && spec.format !== "aot") memo.set(digest, { kernels, format });
  return { ...base, format, bytes: file.size, files: 1, mtime: file.mtime, digest, inode, kernels };
}

/** Where a small entry's bytes name no Triton bundle (nested pickles included), it has no kernel to walk. */
const BUNDLE_MARK = Buffer.from("triton_bundler");
function mayBundle(src: ByteSource, r: { offset: number; length: number }): boolean {
  if (r.length > 1 << 20) return true; // big entries are walked without reading them whole
  return Buffer.from(src.view(r.offset, r.length)).includes(BUNDLE_MARK);
}

/** Size and CRC32 of the whole content, read in windows: equal digests are compared byte by byte before linking. */
function digestOf(src: ByteSource): string {
  let crc = 0;
  for (let pos = 0; pos < src.length; ) {
    const v = src.view(pos, 1 << 20);
    if (v.length === 0) break;
    crc = crc32(v, crc);
    pos += v.length;
  }
  return `${src.length}:${crc.toString(16).padStart(8, "0")}`;
}

/** The kernel that a bundled Triton cache entry restores, when its metadata says what it is. */
function embedded(k: BundledKernel): EmbeddedKernel[] {
  const group = k.files.find((f) => GROUP_RE.test(f.name));
  const name = group ? (GROUP_RE.exec(group.name)?.[1] as string) : undefined;
  const metaFile = k.files.find((f) =>
    name ? f.name === `${name}.json` : f.name.endsWith(".json") && !f.name.endsWith(".autotune.json"),
  );
  if (!metaFile?.content || metaFile.content.length > MAX_METADATA_BYTES) return [];
  const text = utf8.decode(metaFile.content);
  if (jsonTooDeep(text)) return []; // as for malformed JSON: `show` could not print it
  let meta: Record<string, unknown>;
  try {
    meta = asObject(JSON.parse(text));
  } catch {
    return [];
  }
  const files = k.files.map((f) => ({ name: f.name, size: f.size })).sort(byName);
  const facts = kernelFacts(metaFile.name.slice(0, -5), meta, files);
  const hash = typeof meta.hash === "string" ? meta.hash : k.key;
  return [{ ...facts, key: k.key, hash, metadata: text }];
}

const byName = (a: { name: string }, b: { name: string }) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

function distinct(kernels: EmbeddedKernel[]): EmbeddedKernel[] {
  const m = new Map<string, EmbeddedKernel>();
  for (const k of kernels) if (!m.has(k.hash)) m.set(k.hash, k);
  return [...m.values()];
}

interface OpenFile {
  fd: number;
  size: number;
  mtime: number;
  dev: number;
  ino: number;
}

/** Opens a regular file, refusing links, FIFOs, devices and anything over the cap (one warning each). */
export function openCapped(path: string, warnings: ScanWarning[]): OpenFile | null {
  let fd: number;
  try {
    fd = openPlain(path);
  } catch (e) {
    if (e instanceof NotPlainFile) {
      const link = e.kind === "a symbolic link";
      warnings.push(
        warn(path, "unreadable", link ? "is a symbolic link; not followed" : "is not a regular file; not read"),
      );
    } else if ((e as NodeJS.ErrnoException).code !== "ENOENT") {
      warnings.push(warn(path, errorCode(e), `cannot read: ${(e as Error).message}`));
    }
    return null;
  }
  try {
    const st = fstatSync(fd);
    if (st.size > MAX_UNIT_BYTES)
      warnings.push(
        warn(path, "unreadable", `is ${st.size} bytes, over the ${MAX_UNIT_BYTES}-byte cap; sized, not read`),
      );
    else return { fd, size: st.size, mtime: st.mtimeMs, dev: st.dev, ino: st.ino };
  } catch (e) {
    warnings.push(warn(path, errorCode(e), `cannot read: ${(e as Error).message}`));
  }
  closeSync(fd);
  return null;
}

/** Reads a small regular file whole (see openCapped). */
export function readFileCapped(path: string, warnings: ScanWarning[]): { data: Buffer; mtime: number } | null {
  const f = openCapped(path, warnings);
  if (!f) return null;
  try {
    const data = Buffer.allocUnsafe(f.size);
    let n = 0;
    while (n < data.length) {
      const got = readSync(f.fd, data, n, data.length - n, n);
      if (got === 0) break;
      n += got;
    }
    return { data: n === data.length ? data : data.subarray(0, n), mtime: f.mtime };
  } catch (e) {
    warnings.push(warn(path, errorCode(e), `cannot read: ${(e as Error).message}`));
    return null;
  } finally {
    closeSync(f.fd);
  }
}

/** Does the file start as a pickle (protocol 2 to 5) does? */
function isPickleFile(path: string): boolean {
  let fd: number;
  try {
    fd = openPlain(path);
  } catch {
    return false;
  }
  try {
    const b = Buffer.alloc(2);
    return readSync(fd, b, 0, 2, 0) === 2 && b[0] === 0x80 && (b[1] as number) >= 2 && (b[1] as number) <= 5;
  } finally {
    closeSync(fd);
  }
}

/**
 * An unpacked artifact is an Inductor cache folder: its pickled FX-graph and
 * AOTAutograd entries bundle the Triton kernels, and once loaded its triton/
 * folder holds them too (kernel folders with a group file).
 */
function readFolder(dir: string, warnings: ScanWarning[]) {
  let bytes = 0;
  let files = 0;
  let mtime = -1;
  const kernels: EmbeddedKernel[] = [];
  const todo = [dir];
  while (todo.length > 0 && files < MAX_FOLDER_FILES) {
    const d = todo.pop() as string;
    let names: string[];
    try {
      names = readdirSync(d);
    } catch (e) {
      warnings.push(warn(d, errorCode(e), `cannot read folder: ${(e as Error).message}`));
      continue;
    }
    const here: { name: string; size: number }[] = [];
    for (const n of names) {
      const p = `${d}/${n}`;
      const st = lstatSync(p, { throwIfNoEntry: false });
      if (!st || st.isSymbolicLink()) continue;
      if (st.isDirectory()) {
        todo.push(p);
        continue;
      }
      bytes += st.size;
      files++;
      mtime = Math.max(mtime, st.mtimeMs);
      here.push({ name: n, size: st.size });
    }
    for (const f of here) {
      if (f.size < 3 || !isPickleFile(`${d}/${f.name}`)) continue;
      const file = openCapped(`${d}/${f.name}`, warnings);
      if (!file) continue;
      try {
        for (const k of bundledKernels(fileSource(file.fd, file.size))) kernels.push(...embedded(k));
      } catch (e) {
        if (!(e instanceof PickleError || e instanceof RangeError)) throw e;
        warnings.push(warn(`${d}/${f.name}`, "bad-artifact", `cannot read the cache entry: ${e.message}`));
      } finally {
        closeSync(file.fd);
      }
    }
    const group = here.find((f) => GROUP_RE.test(f.name));
    if (!group) continue;
    const name = GROUP_RE.exec(group.name)?.[1] as string;
    const meta = here.find((f) => f.name === `${name}.json`);
    const read = meta && meta.size <= MAX_METADATA_BYTES ? readFileCapped(`${d}/${meta.name}`, warnings) : null;
    if (!read) continue;
    const key = d.slice(d.lastIndexOf("/") + 1);
    const withMeta = here.map((f) => (f === meta ? { ...f, content: new Uint8Array(read.data) } : f));
    kernels.push(...embedded({ key, files: withMeta }));
  }
  if (files >= MAX_FOLDER_FILES) warnings.push(warn(dir, "unreadable", `over ${MAX_FOLDER_FILES} files; not all read`));
  return { bytes, files, mtime, kernels };
}
