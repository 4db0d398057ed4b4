// PyTorch's cache artifacts, read without Python and without unpickling:
// - the byte stream of torch.utils._appending_byte_serializer (a CRC32 of what
//   follows, then big-endian uint64 lengths before each byte string; strings
//   base64-encoded in recent PyTorch), which Inductor's standalone compile
//   writes (`CompiledArtifact.save(format="binary")`: torch key, AOTAutograd
//   key, then the CacheArtifactManager's entries: type, key, content);
// - the pickles inside those entries, where the Triton bundler keeps whole
//   Triton cache entries (TritonKernelArtifacts: kernel_hash, device, and
//   TritonKernelArtifact(filename, payload) per file).
import { crc32 } from "node:zlib";
import { field, isObject, type PickleValue, readPickle } from "./pickle.js";

export class ArtifactError extends Error {}

export interface CacheEntry {
  /** "inductor", "aot_autograd", "autotune", "pgo", ... */
  type: string;
  key: string;
  content: Uint8Array;
}

export interface StandaloneArtifact {
  /** hex of the torch build's key: artifacts load only into the torch that wrote them */
  torchKey: string;
  /** the AOTAutograd cache key ("" for an AOT artifact) */
  key: string;
  entries: CacheEntry[];
  /** standalone_compile(aot=True) (PyTorch >= 2.10): one pickle in place of the entries */
  aotPickle: Uint8Array | null;
}

// PyTorch >= 2.10 starts the stream with what kind of artifact it is
const CACHE_HEADER = "CacheCompiledArtifact";
const AOT_HEADER = "AOTCompiledArtifact";

/** One Triton cache entry as the Triton bundler packed it. */
export interface BundledKernel {
  /** the Triton cache key (the kernel folder's name) */
  key: string;
  files: { name: string; content: Uint8Array }[];
}

class Reader {
  p = 4; // after the CRC
  private view: DataView;
  constructor(readonly data: Uint8Array) {
    this.view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  }
  done(): boolean {
    return this.p >= this.data.length;
  }
  u64(): number {
    if (this.p + 8 > this.data.length) throw new ArtifactError(`truncated at byte ${this.p}`);
    const v = this.view.getBigUint64(this.p, false);
    this.p += 8;
    if (v > BigInt(this.data.length)) throw new ArtifactError(`length ${v} beyond the data at byte ${this.p - 8}`);
    return Number(v);
  }
  bytes(): Uint8Array {
    const n = this.u64();
    if (this.p + n > this.data.length) throw new ArtifactError(`truncated at byte ${this.p}`);
    const b = this.data.subarray(this.p, this.p + n);
    this.p += n;
    return b;
  }
}

/** The data's own CRC32 (its first 4 bytes) matches what follows. */
function checkCrc(data: Uint8Array, what: string): void {
  if (data.length < 4) throw new ArtifactError(`${what} is truncated (${data.length} bytes)`);
  const stored =
    ((data[0] as number) << 24) | ((data[1] as number) << 16) | ((data[2] as number) << 8) | (data[3] as number);
  if (crc32(data.subarray(4)) !== stored >>> 0)
    throw new ArtifactError(`${what} fails its CRC32: truncated or corrupt`);
}

const latin1 = new TextDecoder("latin1");
const utf8 = new TextDecoder("utf-8");
const TYPE_RE = /^[a-z][a-z0-9_]*$/;

/** Strings are base64 in PyTorch >= 2.9, raw UTF-8 before: the first entry type tells which. */
function decoder(sample: Uint8Array): (b: Uint8Array) => string {
  if (TYPE_RE.test(latin1.decode(sample))) return (b) => utf8.decode(b);
  return (b) => Buffer.from(latin1.decode(b), "base64").toString("utf8");
}

/** Reads `CompiledArtifact.save(format="binary")` output. Throws ArtifactError when it is not one. */
export function readStandaloneArtifact(data: Uint8Array): StandaloneArtifact {
  checkCrc(data, "artifact");
  const r = new Reader(data);
  let first = r.bytes();
  const header = latin1.decode(first);
  if (header === AOT_HEADER) {
    const torchKey = r.bytes();
    const aotPickle = r.bytes();
    if (!r.done()) throw new ArtifactError(`${data.length - r.p} bytes after the artifact`);
    return { torchKey: Buffer.from(torchKey).toString("hex"), key: "", entries: [], aotPickle };
  }
  if (header === CACHE_HEADER) first = r.bytes();
  const torchKey = first;
  const key = r.bytes();
  const inner = r.bytes();
  if (!r.done()) throw new ArtifactError(`${data.length - r.p} bytes after the artifact`);
  const entries = readCacheArtifacts(inner);
  const str = decoder(entries.sample ?? key);
  return {
    torchKey: Buffer.from(torchKey).toString("hex"),
    key: str(key),
    entries: entries.raw.map((e) => ({ type: str(e.type), key: str(e.key), content: e.content })),
    aotPickle: null,
  };
}

/**
 * The CacheArtifactManager's serialization: version, then per type a count and
 * (key, content) pairs. Its own CRC is not checked again: the artifact's covers it.
 */
function readCacheArtifacts(data: Uint8Array): {
  sample: Uint8Array | undefined;
  raw: { type: Uint8Array; key: Uint8Array; content: Uint8Array }[];
} {
  const r = new Reader(data);
  const version = r.u64();
  if (version !== 1) throw new ArtifactError(`unknown cache artifact encoding ${version}`);
  const raw: { type: Uint8Array; key: Uint8Array; content: Uint8Array }[] = [];
  while (!r.done()) {
    const type = r.bytes();
    const n = r.u64();
    for (let i = 0; i < n; i++) raw.push({ type, key: r.bytes(), content: r.bytes() });
  }
  return { sample: raw[0]?.type, raw };
}

/** What a walk noticed besides kernels. */
export interface BundleMarks {
  /** vLLM's mega AOT artifact: the model carries every submodule's standalone-compile artifact */
  megaAot: boolean;
}

const PICKLE_START = 0x80;
/** mega-AOT: model > compiled_fn > stored submodule > (entry, kernels) > entry > FX graph */
const MAX_NESTING = 6;

/**
 * Every Triton cache entry that a pickle holds, in pickles nested as byte
 * strings too (bundled AOTAutograd entries keep the FX graph's pickle).
 */
export function bundledKernels(pickle: Uint8Array, depth = MAX_NESTING, marks?: BundleMarks): BundledKernel[] {
  const out: BundledKernel[] = [];
  const seen = new Set<object>();
  const todo: PickleValue[] = [readPickle(pickle)];
  while (todo.length > 0) {
    const v = todo.pop() as PickleValue;
    if (v === null || typeof v !== "object") continue;
    if (v instanceof Uint8Array) {
      if (depth > 0 && v.length > 2 && v[0] === PICKLE_START && (v[1] as number) >= 2 && (v[1] as number) <= 5) {
        try {
          out.push(...bundledKernels(v, depth - 1, marks));
        } catch {
          // a byte string that only looked like a pickle
        }
      }
      continue;
    }
    if (seen.has(v)) continue;
    seen.add(v);
    if (isObject(v) && v.cls.endsWith("triton_bundler.TritonKernelArtifacts")) {
      const k = kernelOf(v);
      if (k) out.push(k);
      continue;
    }
    if (Array.isArray(v)) todo.push(...v);
    else if (v instanceof Map) {
      if (marks && v.get("standalone_compile_artifacts") != null) marks.megaAot = true;
      for (const [k, x] of v) todo.push(k, x);
    } else if (isObject(v)) todo.push(...v.args, v.state);
  }
  return out;
}

function kernelOf(v: PickleValue): BundledKernel | null {
  const key = field(v, "kernel_hash");
  const artifacts = field(v, "artifacts");
  if (typeof key !== "string" || !Array.isArray(artifacts)) return null;
  const files: BundledKernel["files"] = [];
  for (const a of artifacts) {
    const name = field(a, "filename");
    const content = field(a, "payload");
    if (typeof name === "string" && content instanceof Uint8Array) files.push({ name, content });
  }
  return { key, files };
}
