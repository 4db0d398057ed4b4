import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { crc32 } from "node:zlib";
import { IndexDb } from "../../src/db/index.js";
import { UnitStore } from "../../src/db/units.js";
import { indexRoot } from "../../src/scan/indexer.js";
import { readUnit } from "../../src/scan/vllm-unit.js";
import { cleanupTemp, extractFixture, setAge, tempDir } from "../helpers/fixtures.js";
import { counts } from "../helpers/tree.js";

after(cleanupTemp);

const BACKBONE = "torch_compile_cache/edf531ca35/rank_0_0/backbone";
const MAKE_AOT = new URL("./vllm/make_aot.py", import.meta.url).pathname;

describe("vLLM binary artifacts (GKM's Llama cache, written by a recent vLLM)", () => {
  it("finds the 16 distinct kernels the 17 artifacts embed: names, targets, Triton version", async () => {
    const root = extractFixture("llama-binary-cache");
    const db = new IndexDb(":memory:");
    const s = await indexRoot(db, root, { mode: "auto" });
    assert.equal(s.layout, "vllm");
    assert.equal(s.kernels, 16);
    assert.equal(s.added, 16);
    assert.deepEqual(s.warnings, []);
    const rows = db.queryKernels({});
    assert.equal(new Set(rows.map((k) => k.name)).size, 7);
    assert.deepEqual(
      counts(rows, (k) => `${k.backend}/${k.arch}/${k.warpSize}/${k.tritonVersion}`),
      {
        "cuda/75/32/3.5.1": 16,
      },
    );
    assert.deepEqual(
      counts(rows, (k) => k.name),
      {
        triton_: 6,
        triton_poi_fused_1: 2,
        triton_poi_fused_3: 2,
        triton_poi_fused_mul_silu_slice_1: 2,
        triton_red_fused__to_copy_add_embedding_mean_mul_pow_rsqrt_0: 1,
        triton_red_fused__to_copy_add_mean_mul_pow_rsqrt_0: 1,
        triton_red_fused__to_copy_add_mean_mul_pow_rsqrt_2: 2,
      },
    );
    for (const k of rows) {
      assert.equal(k.layout, "vllm");
      assert.deepEqual([k.vllmHash, k.rank, k.prefix], ["edf531ca35", "rank_0_0", "backbone"]);
      assert.ok(k.embedded >= 1 && k.embedded <= 17);
      const { files, metadata } = db.kernelBlob(k.path);
      assert.deepEqual(
        counts(files, (f) => f.kind),
        { metadata: 1, group: 1, binary: 1, ir: 4, asm: 1 },
      );
      assert.equal(JSON.parse(metadata as string).target.arch, 75);
    }
    // 200 metadata blobs in all; counted once per artifact that embeds the kernel
    assert.equal(
      rows.reduce((n, k) => n + k.embedded, 0),
      9 + 15 * 6 + 4,
    );
    assert.equal(db.queryKernels({ name: { match: "exact", name: "triton_poi_fused_1" } }).length, 2);
    assert.equal(db.queryKernels({ arch: "sm_75", backend: "cuda" }).length, 16);
    assert.equal(db.queryKernels({ tritonVersion: "3.6" }).length, 0);
    assert.equal(db.queryKernels({ onDisk: true }).length, 0, "no kernel folder on disk: nothing prune may touch");
  });

  it("records each compile unit: format, range, subgraph, size, identical content; and what made them", async () => {
    const root = extractFixture("llama-binary-cache");
    const db = new IndexDb(":memory:");
    await indexRoot(db, root, { mode: "auto" });
    const store = new UnitStore(db);
    const units = store.units(root);
    assert.equal(units.length, 17);
    assert.deepEqual(
      units.map((u) => u.subgraph).sort((a, b) => (a as number) - (b as number)),
      Array.from({ length: 17 }, (_, i) => i),
    );
    for (const u of units) {
      assert.equal(u.format, "binary");
      assert.deepEqual(
        [u.rangeStart, u.rangeEnd, u.vllmHash, u.rank, u.prefix],
        [1, 2048, "edf531ca35", "rank_0_0", "backbone"],
      );
      assert.equal(u.container, join(root, BACKBONE));
    }
    // 14 of the 17 are byte-identical
    const byDigest = counts(units, (u) => u.digest as string);
    assert.deepEqual(
      Object.values(byDigest).sort((a, b) => b - a),
      [14, 1, 1, 1],
    );
    assert.deepEqual(
      counts(units, (u) => String(u.kernels)),
      { "9": 1, "6": 15, "4": 1 },
    );
    const [dir, ...more] = store.compileDirs(root);
    assert.equal(more.length, 0);
    assert.equal(dir?.path, join(root, BACKBONE));
    assert.equal(dir?.model, "LlamaForCausalLM");
    assert.match(dir?.graph ?? "", /^[0-9a-f]{16}$/);
    assert.deepEqual(dir?.factors, {
      code_hash: "a3c720792414def9dfa3a2ba0b049fc5dfcc636f897c63bebbbbd378f1cba6a5",
      compiler_hash: "4fc2f2ae9e",
      config_hash: "2a3882727d",
      VLLM_TARGET_DEVICE: "cuda",
      VLLM_MAIN_CUDA_VERSION: "12.9",
      VLLM_COMPILE_CACHE_SAVE_FORMAT: "binary",
      VLLM_USE_STANDALONE_COMPILE: true,
      VLLM_USE_AOT_COMPILE: false,
      VLLM_USE_MEGA_AOT_ARTIFACT: false,
    });
    assert.equal(
      db.rootBytes(root),
      units.reduce((n, u) => n + u.bytes, 0),
    );
  });

  it("reads only artifacts that changed, and follows artifacts that come and go", async () => {
    const root = extractFixture("llama-binary-cache");
    const dir = join(root, BACKBONE);
    const db = new IndexDb(":memory:");
    await indexRoot(db, root, { mode: "auto" });
    const again = await indexRoot(db, root, { mode: "auto" });
    assert.deepEqual([again.kernels, again.added, again.removed, again.unchanged], [16, 0, 0, 16]);
    // subgraph_0 (the embedding layer) alone embeds 9 of the kernels (checked with Python's pickletools)
    rmSync(join(dir, "artifact_compile_range_1_2048_subgraph_0"));
    const fewer = await indexRoot(db, root, { mode: "auto" });
    assert.equal(fewer.kernels, 7);
    assert.equal(fewer.removed, 9);
    for (const n of readdirSync(dir)) if (n.startsWith("artifact_")) rmSync(join(dir, n));
    const none = await indexRoot(db, root, { mode: "auto" });
    assert.equal(none.kernels, 0);
    assert.equal(new UnitStore(db).units(root).length, 0);
  });
});

describe("hostile and broken artifacts: one warning each, no crash, nothing read outside the root", () => {
  const ARTIFACT = "artifact_compile_range_1_2048_subgraph_1";

  function cacheWith(make: (dir: string, good: Buffer) => void): string {
    const root = extractFixture("llama-binary-cache");
    const dir = join(root, BACKBONE);
    const good = readFileSync(join(dir, ARTIFACT));
    for (const n of readdirSync(dir)) if (n.startsWith("artifact_")) rmSync(join(dir, n));
    make(dir, good);
    setAge(dir, 3_600_000);
    return root;
  }

  async function warningsOf(root: string) {
    const db = new IndexDb(":memory:");
    const s = await indexRoot(db, root, { mode: "auto" });
    return { s, db, units: new UnitStore(db).units(root) };
  }

  it("truncated, corrupt, empty and random-byte artifacts", async () => {
    const root = cacheWith((dir, good) => {
      writeFileSync(join(dir, "artifact_compile_range_1_2_subgraph_0"), good.subarray(0, good.length >> 1));
      // a corrupt byte where the structure is (the cache-artifact encoding's version); a flipped byte
      // inside a cubin is not looked at: mcm skips those bytes, and PyTorch's CRC32 catches it at load
      const flipped = Buffer.from(good);
      flipped[143] = (flipped[143] as number) ^ 0xff;
      writeFileSync(join(dir, "artifact_compile_range_1_2_subgraph_1"), flipped);
      writeFileSync(join(dir, "artifact_compile_range_1_2_subgraph_2"), Buffer.alloc(0));
      writeFileSync(join(dir, "artifact_compile_range_1_2_subgraph_3"), Buffer.from("not an artifact at all\n"));
      // a valid outer CRC around a length that claims more than the file holds
      const lying = Buffer.alloc(20);
      lying.writeBigUInt64BE(1n << 60n, 4);
      writeFileSync(join(dir, "artifact_compile_range_1_2_subgraph_4"), withCrc(lying));
    });
    const { s, units } = await warningsOf(root);
    assert.equal(s.kernels, 0);
    const bad = s.warnings.filter((w) => w.code === "bad-artifact");
    assert.equal(bad.length, 5, JSON.stringify(s.warnings));
    assert.equal(units.length, 5, "every unit is still counted, with its bytes");
    assert.ok(
      bad.some((w) => /unknown cache artifact encoding/.test(w.message)),
      JSON.stringify(bad),
    );
  });

  it("an artifact whose CRC32 starts with 0x80, as a pickle does, is read as the artifact it is", async () => {
    const root = cacheWith((dir, good) => {
      // a different torch key, the CRC made right again: found by trying (1 in 256 artifacts)
      const a = Buffer.from(good);
      for (let n = 0; ; n++) {
        a.writeUInt32BE(n, 12);
        a.writeUInt32BE(crc32(a.subarray(4)), 0);
        if (a[0] === 0x80) break;
      }
      writeFileSync(join(dir, "artifact_compile_range_1_2048_subgraph_1"), a);
    });
    const { s } = await warningsOf(root);
    assert.deepEqual(s.warnings, []);
    assert.equal(s.kernels, 6);
  });

  it("a pickle that would run code, or never end, is only read", async () => {
    const marker = join(tempDir(), "ran");
    const root = cacheWith((dir) => {
      // each names the Triton bundler, as an entry with kernels does, so that it is walked
      const named = Buffer.from([0x8c, 14, ...Buffer.from("triton_bundler"), 0x30]); // a string, popped
      // os.system("touch marker") as pickle would run it on load
      const evil = Buffer.concat([
        Buffer.from([0x80, 2]),
        named,
        Buffer.from(`cos\nsystem\n(Vtouch ${marker}\ntR.`, "latin1"),
      ]);
      writeFileSync(join(dir, "artifact_compile_range_1_2_subgraph_0"), artifactAround(evil));
      // a million nested marks, and a memo reference that was never set
      const marks = Buffer.concat([Buffer.from([0x80, 4]), named, Buffer.alloc(1_000_000, 0x28)]);
      writeFileSync(join(dir, "artifact_compile_range_1_2_subgraph_1"), artifactAround(marks));
      const unset = Buffer.concat([Buffer.from([0x80, 4]), named, Buffer.from([0x68, 7, 0x2e])]);
      writeFileSync(join(dir, "artifact_compile_range_1_2_subgraph_2"), artifactAround(unset));
    });
    const { s } = await warningsOf(root);
    assert.throws(() => readFileSync(marker), /ENOENT/);
    assert.equal(s.kernels, 0);
    const bad = s.warnings.filter((w) => w.code === "bad-artifact");
    assert.equal(bad.length, 2, JSON.stringify(s.warnings)); // the os.system one is a valid pickle of no kernels
  });

  it("links, FIFOs and folders under artifact names are never followed or read", async () => {
    const outside = tempDir();
    const secret = join(outside, "secret");
    const root = cacheWith((dir, good) => {
      writeFileSync(secret, good); // a real artifact outside the root
      symlinkSync(secret, join(dir, "artifact_compile_range_1_2_subgraph_0"));
      execFileSync("mkfifo", [join(dir, "artifact_compile_range_1_2_subgraph_1")]);
    });
    const { s } = await warningsOf(root);
    assert.equal(s.kernels, 0, "the linked artifact's kernels were not read");
    assert.deepEqual(readdirSync(outside), ["secret"]);
    // a link swapped in after the walk saw a file: the reader itself refuses to follow it
    const dir = join(root, BACKBONE);
    const spec = {
      path: join(dir, "artifact_compile_range_1_2_subgraph_0"),
      container: dir,
      format: "binary" as const,
      vllmHash: "edf531ca35",
      rank: "rank_0_0",
      prefix: "backbone",
      rangeStart: 1,
      rangeEnd: 2,
      subgraph: 0,
    };
    const u = readUnit(spec, root);
    assert.equal(u.kernels.length, 0);
    assert.match(u.warnings[0]?.message ?? "", /symbolic link; not followed/);
  });
});

describe("vLLM AOT compile (torch_aot_compile/<hash>/rank_i_j/model), synthetic", () => {
  function aotCache(kind: "plain" | "mega"): string {
    const root = tempDir();
    const rank = join(root, "torch_compile_cache/torch_aot_compile", "9f".repeat(32), "rank_0_0");
    mkdirSync(rank, { recursive: true });
    const kernels = ["A", "B"].map((c, i) => ({
      key: c.repeat(52),
      name: `triton_poi_fused_${i}`,
      meta: {
        hash: `${c.toLowerCase()}`.repeat(64),
        name: `triton_poi_fused_${i}`,
        target: { backend: "cuda", arch: 90, warp_size: 32 },
        num_warps: 4,
        num_stages: 2,
        triton_version: "3.6.0",
      },
      cubin_size: 2000,
    }));
    const spec = join(root, "kernels.json");
    writeFileSync(spec, JSON.stringify(kernels));
    execFileSync("python3", [MAKE_AOT, join(rank, "model"), kind, spec]);
    rmSync(spec);
    if (kind === "plain") mkdirSync(join(rank, "..", "inductor_cache"), { recursive: true });
    setAge(root, 3_600_000);
    return root;
  }

  it("a plain AOT model embeds no kernels: it loads the JIT cache beside it", async () => {
    const root = aotCache("plain");
    const db = new IndexDb(":memory:");
    const s = await indexRoot(db, root, { mode: "auto" });
    assert.equal(s.layout, "vllm");
    assert.equal(s.kernels, 0);
    assert.deepEqual(s.warnings, []);
    const [u] = new UnitStore(db).units(root);
    assert.deepEqual([u?.format, u?.vllmHash, u?.rank, u?.kernels], ["aot", "9f".repeat(32), "rank_0_0", 0]);
  });

  it("a mega-AOT model: the kernels of every stored submodule, once", async () => {
    const root = aotCache("mega");
    const db = new IndexDb(":memory:");
    const s = await indexRoot(db, root, { mode: "auto" });
    assert.equal(s.kernels, 2);
    const [u] = new UnitStore(db).units(root);
    assert.equal(u?.format, "mega-aot");
    const rows = db.queryKernels({});
    assert.deepEqual(
      rows.map((k) => [k.name, k.backend, k.arch, k.tritonVersion, k.embedded]),
      [
        ["triton_poi_fused_0", "cuda", "90", "3.6.0", 1],
        ["triton_poi_fused_1", "cuda", "90", "3.6.0", 1],
      ],
    );
  });
});

/** A BytesWriter blob: big-endian CRC32 of what follows, then the data. */
function withCrc(body: Buffer): Buffer {
  body.writeUInt32BE(crc32(body.subarray(4)), 0);
  return body;
}

/** `data` as the content of one "inductor" entry of a standalone artifact (strings base64, as PyTorch 2.9+). */
function artifactAround(data: Buffer): Buffer {
  const u64 = (n: number) => {
    const b = Buffer.alloc(8);
    b.writeBigUInt64BE(BigInt(n));
    return b;
  };
  const bytes = (b: Buffer) => Buffer.concat([u64(b.length), b]);
  const str = (s: string) => bytes(Buffer.from(Buffer.from(s).toString("base64")));
  const inner = withCrc(Buffer.concat([Buffer.alloc(4), u64(1), str("inductor"), u64(1), str("fxkey"), bytes(data)]));
  return withCrc(Buffer.concat([Buffer.alloc(4), bytes(Buffer.alloc(32, 1)), str("aotkey"), bytes(inner)]));
}

describe("real artifacts made on an H200 by PyTorch 2.11 (gpu/make_artifacts.py)", () => {
  const TRUTH = new URL("../../gpu/results/vllm-artifacts-h200.json", import.meta.url).pathname;
  interface Truth {
    artifacts: Record<
      string,
      { loads: { kernels_restored_by_load: number; kernels_after_load: { distinct_hashes: string[] } }[] }
    >;
  }
  const truth = JSON.parse(readFileSync(TRUTH, "utf8")) as Truth;

  for (const [top, format] of [
    ["vllm-standalone", "binary"],
    ["vllm-unpacked", "unpacked"],
    ["vllm-standalone-aotmode", "binary"],
    ["vllm-aot", "aot"],
  ] as const) {
    it(`${top}: the kernels mcm finds in each unit are the ones PyTorch restored from it in a fresh process`, async () => {
      const root = extractFixture(top);
      const db = new IndexDb(":memory:");
      const s = await indexRoot(db, root, { mode: "auto" });
      assert.deepEqual(s.warnings, []);
      const store = new UnitStore(db);
      const units = store.units(root);
      const expected = Object.entries(truth.artifacts).filter(([p]) => p.startsWith(`${top}/`));
      assert.equal(units.length, expected.length);
      for (const [rel, t] of expected) {
        const u = units.find((x) => x.path === join(root, rel.slice(top.length + 1)));
        assert.ok(u, rel);
        assert.equal(u.format, format);
        const load = t.loads[0];
        assert.ok(load);
        assert.equal(u.kernels, load.kernels_restored_by_load, rel);
        assert.deepEqual(store.kernelHashesOf(u.path), [...load.kernels_after_load.distinct_hashes].sort(), rel);
      }
      for (const k of db.queryKernels({})) {
        assert.deepEqual([k.backend, k.arch, k.warpSize, k.tritonVersion], ["cuda", "90", 32, "3.6.0"]);
      }
    });
  }
});
