// The pickle and artifact readers against damaged input: every failure is one
// of their own errors (turned into one warning by the caller), never a crash,
// a hang or an exception of another kind.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { memorySource } from "../../src/scan/byte-source.js";
import { PickleError, readPickle } from "../../src/scan/pickle.js";
import { ArtifactError, bundledKernels, readStandaloneArtifact } from "../../src/scan/torch-artifact.js";
import { cleanupTemp, extractFixture } from "../helpers/fixtures.js";

after(cleanupTemp);

/** A small deterministic generator: the same damage on every run. */
function rng(seed: number): () => number {
  let x = seed;
  return () => {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    return x / 2 ** 31;
  };
}

function kernelsOf(data: Uint8Array): number {
  const src = memorySource(data);
  const art = readStandaloneArtifact(src);
  let n = 0;
  for (const e of art.entries)
    if (src.view(e.content.offset, 1)[0] === 0x80) n += bundledKernels(src, e.content).length;
  return n;
}

const OWN = (e: unknown) => e instanceof ArtifactError || e instanceof PickleError || e instanceof RangeError;

describe("damaged artifacts", () => {
  const root = extractFixture("llama-binary-cache");
  const good = readFileSync(
    join(root, "torch_compile_cache/edf531ca35/rank_0_0/backbone/artifact_compile_range_1_2048_subgraph_1"),
  );

  it("the intact artifact: 12 bundled Triton cache entries (6 distinct kernels, each twice)", () => {
    assert.equal(kernelsOf(good), 12);
  });

  it("truncated at 200 places: only the readers' own errors", () => {
    const r = rng(1);
    for (let i = 0; i < 200; i++) {
      const cut = Math.floor(r() * good.length);
      try {
        kernelsOf(good.subarray(0, cut));
        assert.fail(`a truncation at ${cut} read as whole`);
      } catch (e) {
        assert.ok(OWN(e), `cut at ${cut}: ${(e as Error).stack}`);
      }
    }
  });

  it("bytes overwritten at 300 places: reads or fails with the readers' own errors", () => {
    const r = rng(2);
    for (let i = 0; i < 300; i++) {
      const bad = Buffer.from(good);
      const at = Math.floor(r() * 4096 + (i % 2 ? r() * good.length : 0)) % good.length;
      bad[at] = Math.floor(r() * 256);
      try {
        kernelsOf(bad);
      } catch (e) {
        assert.ok(OWN(e), `byte ${at}: ${(e as Error).stack}`);
      }
    }
  });

  it("hostile pickles: huge lengths, deep nesting, endless memo references, unknown opcodes", () => {
    const cases: [string, number[]][] = [
      ["a length past the end", [0x80, 4, 0x8e, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]],
      ["an unset memo slot", [0x80, 4, 0x6a, 0xff, 0xff, 0xff, 0xff, 0x2e]],
      ["stack underflow", [0x80, 4, 0x52, 0x2e]],
      ["an unknown opcode", [0x80, 4, 0xff]],
      ["no STOP", [0x80, 4, 0x4e]],
      ["marks nested past the limit", [0x80, 4, ...new Array(20_000).fill(0x28)]],
    ];
    for (const [what, bytes] of cases) {
      assert.throws(() => readPickle(Uint8Array.from(bytes)), PickleError, what);
    }
    // a pickle that would call os.system: read as an object naming it, nothing called
    const v = readPickle(Buffer.from("cos\nsystem\n(Vtouch /tmp/x\ntR.", "latin1"));
    assert.deepEqual(v, { kind: "object", cls: "os.system", args: ["touch /tmp/x"], state: null });
  });
});

describe("the reader agrees with Python's pickletools", () => {
  it("the same TritonKernelArtifacts count in every artifact of the fixture", () => {
    const root = extractFixture("llama-binary-cache");
    const dir = join(root, "torch_compile_cache/edf531ca35/rank_0_0/backbone");
    // Python's own unpickler, every class replaced by an inert stand-in (find_class): an independent count
    const script = `
import io, os, pickle, sys
class Stub:
    def __init__(self, *a, **k): self.args = a
    def __setstate__(self, s):
        s = s[0] if isinstance(s, tuple) else s
        if isinstance(s, dict): self.__dict__.update(s)
class Inert(pickle.Unpickler):
    def find_class(self, module, name):
        return type(module + "." + name, (Stub,), {})
def entries(d):
    p = [4]
    def u64():
        v = int.from_bytes(d[p[0]:p[0]+8], "big"); p[0] += 8; return v
    def bts():
        n = u64(); b = d[p[0]:p[0]+n]; p[0] += n; return b
    bts(); bts(); d = bts(); p[0] = 12
    while p[0] < len(d):
        bts(); n = u64()
        for _ in range(n):
            bts(); yield bts()
def count(v, seen):
    if id(v) in seen: return 0
    seen.add(id(v))
    if isinstance(v, Stub):
        n = 1 if type(v).__name__.endswith("triton_bundler.TritonKernelArtifacts") else 0
        return n + sum(count(x, seen) for x in list(v.__dict__.values()) + list(getattr(v, "args", ())))
    if isinstance(v, dict): return sum(count(k, seen) + count(x, seen) for k, x in v.items())
    if isinstance(v, (list, tuple, set, frozenset)): return sum(count(x, seen) for x in v)
    return 0
for f in sorted(os.listdir(sys.argv[1])):
    if not f.startswith("artifact_"): continue
    n = 0
    for c in entries(open(os.path.join(sys.argv[1], f), "rb").read()):
        if c[:1] == b"\\x80": n += count(Inert(io.BytesIO(c)).load(), set())
    print(f, n)
`;
    const out = execFileSync("python3", ["-c", script, dir], { encoding: "utf8" });
    for (const line of out.trim().split("\n")) {
      const [f, n] = line.split(" ");
      assert.equal(kernelsOf(readFileSync(join(dir, f as string))), Number(n), f);
    }
  });
});
