// PyTorch's cache artifacts, read without Python and without unpickling:
// - the byte stream of torch.utils._appending_byte_serializer (a CRC32 of what
//   follows, then big-endian uint64 lengths before each byte string; strings
//   base64-encoded in recent PyTorch), which Inductor's standalone compile
//   writes (`CompiledArtifact.save(format="binary")`: torch key, AOTAutograd
//   key, then the CacheArtifactManager's entries: type, key, content);
// - the pickles inside those entries, where the Triton bundler keeps whole
//   Triton cache entries (TritonKernelArtifacts: kernel_hash, device, and
//   TritonKernelArtifact(filename, payload) per file).
// Everything is read by position: the cubins and IR inside are skipped, not read.
import { type ByteRange, type ByteSource, copyOf, memorySource } from "./byte-source.js";
import { field, isLazy, isObject, type LazyBytes, type PickleValue, readPickle } from "./pickle.js";

export class ArtifactError extends Error {}

export interface CacheEntry {
  /** "inductor", "aot_autograd", "autotune", "pgo", ... */
  type: string;
  key: string;
  content: ByteRange;
}

export interface StandaloneArtifact {
  /** hex of the torch build's key: artifacts load only into the torch that wrote them */
  torchKey: string;
  /** the AOTAutograd cache key ("" for an AOT artifact) */
  key: string;
  entries: CacheEntry[];
  /** standalone_compile(aot=True) (PyTorch >= 2.10): one pickle in place of the entries */
  aotPickle: ByteRange | null;
  /** the CRC32 the artifact stores of itself (not checked: that would read every byte) */
  storedCrc: string;
}

/** One Triton cache entry as the Triton bundler packed it: each file's name, size and (when small) bytes. */
export interface BundledKernel {
  /** the Triton cache key (the kernel folder's name) */
  key: string;
  files: { name: string; size: number; content?: Uint8Array }[];
}

// PyTorch >= 2.10 starts the stream with what kind of artifact it is
const CACHE_HEADER = "CacheCompiledArtifact";
const AOT_HEADER = "AOTCompiledArtifact";

class Reader {
  constructor(
    readonly src: ByteSource,
    public p: number,
    readonly end: number,
  ) {}
  done(): boolean {
    return this.p >= this.end;
  }
  u64(): number {
    const b = this.src.view(this.p, 8);
    if (this.p + 8 > this.end || b.length < 8) throw new ArtifactError(`truncated at byte ${this.p}`);
    let v = 0;
    for (let i = 0; i < 8; i++) v = v * 256 + (b[i] as number);
    this.p += 8;
    if (v > this.end - this.p) throw new ArtifactError(`length ${v} beyond the data at byte ${this.p - 8}`);
    return v;
  }
  range(): ByteRange {
    const length = this.u64();
    const r = { offset: this.p, length };
    this.p += length;
    return r;
  }
  /** a short field, read (a copy) */
  small(max = 1 << 16): Uint8Array {
    const r = this.range();
    if (r.length > max) throw new ArtifactError(`a ${r.length}-byte field where a short one belongs`);
    return new Uint8Array(this.src.view(r.offset, r.length).subarray(0, r.length));
  }
}

const latin1 = new TextDecoder("latin1");
const utf8 = new TextDecoder("utf-8");
const TYPE_RE = /^[a-z][a-z0-9_]*$/;
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

/** Strings are base64 in PyTorch >= 2.9, raw UTF-8 before: the first entry type tells which. */
function decoder(sample: Uint8Array): (b: Uint8Array) => string {
  if (TYPE_RE.test(latin1.decode(sample))) return (b) => utf8.decode(b);
  return (b) => Buffer.from(latin1.decode(b), "base64").toString("utf8");
}

/** Reads `CompiledArtifact.save(format="binary")` output. Throws ArtifactError when it is not one. */
export function readStandaloneArtifact(data: Uint8Array | ByteSource): StandaloneArtifact {
  const src = data instanceof Uint8Array ? memorySource(data) : data;
  if (src.length < 4) throw new ArtifactError(`truncated (${src.length} bytes)`);
  const storedCrc = hex(src.view(0, 4).subarray(0, 4));
  const r = new Reader(src, 4, src.length);
  let first = r.small();
  const header = latin1.decode(first);
  if (header === AOT_HEADER) {
    const torchKey = r.small();
    const aotPickle = r.range();
    if (!r.done()) throw new ArtifactError(`${src.length - r.p} bytes after the artifact`);
    return { torchKey: hex(torchKey), key: "", entries: [], aotPickle, storedCrc };
  }
  if (header === CACHE_HEADER) first = r.small();
  const torchKey = first;
  const key = r.small();
  const inner = r.range();
  if (!r.done()) throw new ArtifactError(`${src.length - r.p} bytes after the artifact`);
  const entries = readCacheArtifacts(src, inner);
  const str = decoder(entries.sample ?? key);
  return {
    torchKey: hex(torchKey),
    key: str(key),
    entries: entries.raw.map((e) => ({ type: str(e.type), key: str(e.key), content: e.content })),
    aotPickle: null,
    storedCrc,
  };
}

/** The CacheArtifactManager's serialization (its own CRC32, version, then per type a count and (key, content) pairs). */
function readCacheArtifacts(
  src: ByteSource,
  at: ByteRange,
): { sample: Uint8Array | undefined; raw: { type: Uint8Array; key: Uint8Array; content: ByteRange }[] } {
  const r = new Reader(src, at.offset + 4, at.offset + at.length);
  if (at.length < 12) throw new ArtifactError("cache artifacts truncated");
  const version = r.u64();
  if (version !== 1) throw new ArtifactError(`unknown cache artifact encoding ${version}`);
  const raw: { type: Uint8Array; key: Uint8Array; content: ByteRange }[] = [];
  while (!r.done()) {
    const type = r.small();
    const n = r.u64();
    for (let i = 0; i < n; i++) raw.push({ type, key: r.small(), content: r.range() });
  }
  return { sample: raw[0]?.type, raw };
}

/** What a walk noticed besides kernels. */
export interface BundleMarks {
  /** vLLM's mega AOT artifact: the model carries every submodule's standalone-compile artifact */
  megaAot: boolean;
}

/** mega-AOT: model > compiled_fn > stored submodule > (entry, kernels) > entry > FX graph */
const MAX_NESTING = 6;

/** Does the range start as a pickle (protocol 2 to 5) does? */
function startsAsPickle(src: ByteSource, r: ByteRange): boolean {
  if (r.length < 3) return false;
  const b = src.view(r.offset, 2);
  return b[0] === 0x80 && (b[1] as number) >= 2 && (b[1] as number) <= 5;
}

/**
 * Every Triton cache entry that a pickle holds, in pickles nested as byte
 * strings too (bundled AOTAutograd entries keep the FX graph's pickle).
 */
export function bundledKernels(
  src: ByteSource,
  at: ByteRange = { offset: 0, length: src.length },
  depth = MAX_NESTING,
  marks?: BundleMarks,
): BundledKernel[] {
  const out: BundledKernel[] = [];
  const seen = new Set<object>();
  const todo: PickleValue[] = [readPickle(src, at)];
  const nested = (from: ByteSource, r: ByteRange) => {
    if (depth <= 0 || !startsAsPickle(from, r)) return;
    try {
      out.push(...bundledKernels(from, r, depth - 1, marks));
    } catch {
      // a byte string that only looked like a pickle
    }
  };
  while (todo.length > 0) {
    const v = todo.pop() as PickleValue;
    if (v === null || typeof v !== "object") continue;
    if (v instanceof Uint8Array) {
      if (v.length > 2 && v[0] === 0x80) nested(memorySource(v), { offset: 0, length: v.length });
      continue;
    }
    if (isLazy(v)) {
      nested(src, v);
      continue;
    }
    if (seen.has(v)) continue;
    seen.add(v);
    if (isObject(v) && v.cls.endsWith("triton_bundler.TritonKernelArtifacts")) {
      const k = kernelOf(v, src);
      if (k) out.push(k);
      continue;
    }
    // only what can hold a bundle is walked on: objects, containers, byte strings (nested pickles)
    const visit = (x: PickleValue) => {
      if (x !== null && typeof x === "object") todo.push(x);
    };
    if (Array.isArray(v)) for (let i = 0; i < v.length; i++) visit(v[i] as PickleValue);
    else if (v instanceof Map) {
      if (marks && v.get("standalone_compile_artifacts") != null) marks.megaAot = true;
      for (const x of v.values()) visit(x);
    } else if (isObject(v)) {
      for (let i = 0; i < v.args.length; i++) visit(v.args[i] as PickleValue);
      visit(v.state);
    }
  }
  return out;
}

/** Triton's metadata and group JSON are read; the binary and IR only sized. */
const MAX_JSON = 1 << 20;

function kernelOf(v: PickleValue, src: ByteSource): BundledKernel | null {
  const key = field(v, "kernel_hash");
  const artifacts = field(v, "artifacts");
  if (typeof key !== "string" || !Array.isArray(artifacts)) return null;
  const files: BundledKernel["files"] = [];
  for (const a of artifacts) {
    const name = field(a, "filename");
    const payload = field(a, "payload");
    if (typeof name !== "string") continue;
    if (payload instanceof Uint8Array) files.push({ name, size: payload.length, content: payload });
    else if (isLazy(payload)) {
      const r = payload as LazyBytes;
      const json = name.endsWith(".json") && r.length <= MAX_JSON;
      files.push({ name, size: r.length, ...(json ? { content: copyOf(src, r) } : {}) });
    }
  }
  return { key, files };
}
