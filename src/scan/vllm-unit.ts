// Reads one vLLM compile unit (an Inductor standalone-compile artifact, a
// folder it was unpacked to, or an AOT `model` file) and the Triton kernels it
// embeds. Never executes or unpickles anything; a unit that cannot be read is
// one warning, and its bytes still count.
import { closeSync, constants, fstatSync, lstatSync, openSync, readdirSync, readSync } from "node:fs";
import { crc32 } from "node:zlib";
import type { ScanWarning, UnitRecord, UnitSpec } from "../core/types.js";
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

const O_READ = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;
const utf8 = new TextDecoder("utf-8");

export function readUnit(spec: UnitSpec, root: string): UnitRecord & { kernels: EmbeddedKernel[] } {
  const warnings: ScanWarning[] = [];
  const base = { ...spec, root, warnings, digest: null as string | null, inode: null as string | null };
  const st = lstatSync(spec.path, { throwIfNoEntry: false });
  if (!st) return { ...base, bytes: 0, files: 0, mtime: -1, kernels: [] };
  if (st.isDirectory()) {
    const r = readFolder(spec.path, warnings);
    return { ...base, bytes: r.bytes, files: r.files, mtime: r.mtime, kernels: distinct(r.kernels) };
  }
  const file = readFileCapped(spec.path, warnings);
  if (!file) return { ...base, bytes: st.size, files: 1, mtime: st.mtimeMs, kernels: [] };
  const inode = `${file.dev}:${file.ino}`;
  const { data, mtime } = file;
  let kernels: EmbeddedKernel[] = [];
  let crcChecked = false;
  const marks: BundleMarks = { megaAot: false };
  try {
    kernels = kernelsOfFile(data, marks);
    crcChecked = data[0] !== 0x80;
  } catch (e) {
    if (!(e instanceof ArtifactError || e instanceof PickleError || e instanceof RangeError)) throw e;
    warnings.push(warn(spec.path, "bad-artifact", `cannot read the artifact: ${e.message}`));
  }
  // vLLM's AOT model carries compiled code only as a mega artifact; otherwise it loads the JIT cache
  const format = spec.format === "aot" && marks.megaAot ? "mega-aot" : spec.format;
  // the stored CRC32 (checked) covers the rest of a standalone artifact: no second pass over the bytes
  const digest = crcChecked ? `${data.length}:${Buffer.from(data.subarray(0, 4)).toString("hex")}` : digestOf(data);
  return { ...base, format, bytes: data.length, files: 1, mtime, digest, inode, kernels: distinct(kernels) };
}

/** Size and CRC32 of the whole content: equal digests are checked byte by byte before linking. */
function digestOf(data: Uint8Array): string {
  return `${data.length}:${crc32(data).toString(16).padStart(8, "0")}`;
}

function kernelsOfFile(data: Uint8Array, marks?: BundleMarks): EmbeddedKernel[] {
  // an AOT `model` is a bare pickle; standalone artifacts are byte streams of pickles
  if (data[0] === 0x80) return bundledKernels(data, undefined, marks).flatMap((k) => embedded(sized(k)));
  const art = readStandaloneArtifact(data);
  if (art.aotPickle) return bundledKernels(art.aotPickle).flatMap((k) => embedded(sized(k)));
  const out: EmbeddedKernel[] = [];
  for (const e of art.entries) {
    if (e.content[0] !== 0x80) continue; // autotune results are JSON
    for (const k of bundledKernels(e.content)) out.push(...embedded(sized(k)));
  }
  return out;
}

/** The kernel that a bundled Triton cache entry restores, when its metadata says what it is. */
function embedded(k: { key: string; files: { name: string; size: number; content?: Uint8Array }[] }): EmbeddedKernel[] {
  const group = k.files.find((f) => GROUP_RE.test(f.name));
  const name = group ? (GROUP_RE.exec(group.name)?.[1] as string) : undefined;
  const metaFile = k.files.find((f) =>
    name ? f.name === `${name}.json` : f.name.endsWith(".json") && !f.name.endsWith(".autotune.json"),
  );
  if (!metaFile?.content || metaFile.content.length > MAX_METADATA_BYTES) return [];
  const text = utf8.decode(metaFile.content);
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

const sized = (k: BundledKernel) => ({ key: k.key, files: k.files.map((f) => ({ ...f, size: f.content.length })) });

const byName = (a: { name: string }, b: { name: string }) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

function distinct(kernels: EmbeddedKernel[]): EmbeddedKernel[] {
  const m = new Map<string, EmbeddedKernel>();
  for (const k of kernels) if (!m.has(k.hash)) m.set(k.hash, k);
  return [...m.values()];
}

/** Reads a regular file whole, refusing links, FIFOs, devices and anything over the cap. */
export function readFileCapped(
  path: string,
  warnings: ScanWarning[],
): { data: Buffer; mtime: number; dev: number; ino: number } | null {
  let fd: number;
  try {
    fd = openSync(path, O_READ);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ELOOP") warnings.push(warn(path, "unreadable", "is a symbolic link; not followed"));
    else if (code !== "ENOENT") warnings.push(warn(path, errorCode(e), `cannot read: ${(e as Error).message}`));
    return null;
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) {
      warnings.push(warn(path, "unreadable", "is not a regular file; not read"));
      return null;
    }
    if (st.size > MAX_UNIT_BYTES) {
      warnings.push(
        warn(path, "unreadable", `is ${st.size} bytes, over the ${MAX_UNIT_BYTES}-byte cap; sized, not read`),
      );
      return null;
    }
    const data = Buffer.allocUnsafe(st.size);
    let n = 0;
    while (n < data.length) {
      const got = readSync(fd, data, n, data.length - n, n);
      if (got === 0) break;
      n += got;
    }
    return { data: n === data.length ? data : data.subarray(0, n), mtime: st.mtimeMs, dev: st.dev, ino: st.ino };
  } catch (e) {
    warnings.push(warn(path, errorCode(e), `cannot read: ${(e as Error).message}`));
    return null;
  } finally {
    closeSync(fd);
  }
}

/** Does the file start as a pickle (protocol 2 to 5) does? */
function isPickleFile(path: string): boolean {
  let fd: number;
  try {
    fd = openSync(path, O_READ);
  } catch {
    return false;
  }
  try {
    const b = Buffer.alloc(2);
    return (
      fstatSync(fd).isFile() &&
      readSync(fd, b, 0, 2, 0) === 2 &&
      b[0] === 0x80 &&
      (b[1] as number) >= 2 &&
      (b[1] as number) <= 5
    );
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
      if (f.size < 2 || f.size > MAX_UNIT_BYTES || !isPickleFile(`${d}/${f.name}`)) continue;
      const file = readFileCapped(`${d}/${f.name}`, warnings);
      if (!file) continue;
      try {
        kernels.push(...kernelsOfFile(file.data));
      } catch (e) {
        if (!(e instanceof PickleError || e instanceof RangeError)) throw e;
        warnings.push(warn(`${d}/${f.name}`, "bad-artifact", `cannot read the cache entry: ${e.message}`));
      }
    }
    const group = here.find((f) => GROUP_RE.test(f.name));
    if (!group) continue;
    const name = GROUP_RE.exec(group.name)?.[1] as string;
    const meta = here.find((f) => f.name === `${name}.json`);
    const read = meta && meta.size <= MAX_METADATA_BYTES ? readFileCapped(`${d}/${meta.name}`, warnings) : null;
    if (!read) continue;
    const key = d.slice(d.lastIndexOf("/") + 1);
    const withMeta = here.map((f) => (f === meta ? { ...f, content: read.data } : f));
    kernels.push(...embedded({ key, files: withMeta }));
  }
  if (files >= MAX_FOLDER_FILES) warnings.push(warn(dir, "unreadable", `over ${MAX_FOLDER_FILES} files; not all read`));
  return { bytes, files, mtime, kernels };
}
