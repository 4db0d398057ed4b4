import assert from "node:assert/strict";
import { readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { IndexDb } from "../../src/db/index.js";
import { indexRoot } from "../../src/scan/indexer.js";
import { cleanupTemp, extractFixture, tempDir } from "../helpers/fixtures.js";
import { counts } from "../helpers/tree.js";

after(cleanupTemp);

describe("real H100 caches", () => {
  it("triton-cache: 14 kernels with their fields, files and non-kernel entries", async () => {
    const root = extractFixture("triton-cache");
    const db = new IndexDb(":memory:");
    const s = await indexRoot(db, root, { mode: "auto" });
    assert.equal(s.layout, "triton");
    assert.equal(s.kernels, 14);
    assert.equal(s.added, 14);
    assert.deepEqual(s.warnings, []);
    const rows = db.queryKernels({});
    assert.deepEqual(
      counts(rows, (k) => k.name),
      { add_kernel: 6, matmul_kernel: 6, softmax_kernel: 2 },
    );
    for (const k of rows) {
      assert.equal(k.backend, "cuda");
      assert.equal(k.arch, "90");
      assert.equal(k.tritonVersion, "3.6.0");
      assert.equal(k.warpSize, 32);
      assert.equal(k.numCtas, 1);
      assert.equal(k.fileCount, 8);
      assert.equal(k.layout, "triton");
      assert.equal(k.staleGroupPaths, true, "group files point at /tmp/mcm-fixtures");
      const { files, metadata } = db.kernelBlob(k.path);
      assert.deepEqual(
        counts(files, (f) => f.kind),
        { metadata: 1, group: 1, binary: 1, ir: 4, asm: 1 },
      );
      assert.equal(files.find((f) => f.kind === "binary")?.name, `${k.name}.cubin`);
      assert.equal(
        k.totalSize,
        files.reduce((n, f) => n + f.size, 0),
      );
      assert.equal(JSON.parse(metadata as string).name, k.name);
    }
    const warps = counts(
      rows.filter((k) => k.name === "matmul_kernel"),
      (k) => `${k.numWarps}/${k.numStages}`,
    );
    assert.deepEqual(warps, { "4/3": 2, "4/4": 2, "8/3": 2 });
    const others = db.otherGroups(root);
    assert.deepEqual(Object.fromEntries(others.map((o) => [o.kind, o.entries])), {
      launcher: 3,
      utils: 1,
      autotune: 2,
    });
  });

  it("torchinductor_root: 55 kernels under triton/0 and Inductor's own artifacts by kind", async () => {
    const root = extractFixture("torchinductor_root");
    const db = new IndexDb(":memory:");
    const s = await indexRoot(db, root, { mode: "auto" });
    assert.equal(s.layout, "inductor");
    assert.equal(s.kernels, 55);
    assert.deepEqual(s.warnings, []);
    const rows = db.queryKernels({});
    assert.ok(rows.every((k) => k.backend === "cuda" && k.arch === "90" && k.tritonVersion === "3.6.0"));
    assert.ok(rows.every((k) => k.container === join(root, "triton", "0")));
    const kinds = Object.fromEntries(db.otherGroups(root).map((o) => [o.kind, o]));
    assert.equal(kinds["inductor-fxgraph"]?.entries, 1);
    assert.equal(kinds["inductor-aotautograd"]?.entries, 1);
    assert.ok((kinds["inductor-code"]?.files ?? 0) > 50, "generated .py and .best_config files counted");
    assert.equal(kinds.utils?.entries, 1, "cuda_utils under triton/0");
  });

  it("vllm-cache: 55 kernels with hash and rank", async () => {
    const root = extractFixture("vllm-cache");
    const db = new IndexDb(":memory:");
    const s = await indexRoot(db, root, { mode: "auto" });
    assert.equal(s.layout, "vllm");
    assert.equal(s.kernels, 55);
    const rows = db.queryKernels({});
    for (const k of rows) {
      assert.equal(k.vllmHash, "0a1b2c3d4e");
      assert.equal(k.rank, "rank_0_0");
      assert.equal(k.prefix, null);
      assert.equal(k.arch, "90");
    }
    assert.ok(db.otherGroups(root).some((o) => o.kind === "inductor-code"));
  });

  it("worker threads (writing through their own connections) give the same records", async () => {
    const root = extractFixture("vllm-cache");
    const a = new IndexDb(":memory:");
    const b = new IndexDb(join(tempDir(), "threads.db"));
    await indexRoot(a, root, { mode: "auto", threads: 0 });
    const s = await indexRoot(b, root, { mode: "auto", threads: 2, minJobsForThreads: 0 });
    assert.deepEqual([s.added, s.kernels], [55, 55]);
    const strip = (db: IndexDb) => db.queryKernels({}).map(({ firstSeen: _, ...k }) => k);
    assert.deepEqual(strip(b), strip(a));
    assert.equal(strip(a).length, 55);
    // again with threads: nothing changed; then one kernel changed
    const again = await indexRoot(b, root, { mode: "auto", threads: 2, minJobsForThreads: 0 });
    assert.deepEqual([again.added, again.updated, again.unchanged], [0, 0, 55]);
    const k = strip(a)[0]?.path as string;
    rmSync(join(k, readdirSync(k).find((f) => f.endsWith(".ttir")) as string));
    const third = await indexRoot(b, root, { mode: "auto", threads: 2, minJobsForThreads: 0 });
    assert.deepEqual([third.added, third.updated, third.unchanged], [0, 1, 54]);
    b.close();
  });

  it("group paths rewritten to the new place are no longer stale", async () => {
    const root = extractFixture("triton-cache");
    for (const key of readdirSync(root)) {
      for (const f of readdirSync(join(root, key))) {
        if (!f.startsWith("__grp__")) continue;
        const p = join(root, key, f);
        const g = JSON.parse(readFileSync(p, "utf8"));
        for (const c of Object.keys(g.child_paths)) g.child_paths[c] = join(root, key, c);
        writeFileSync(p, JSON.stringify(g));
      }
    }
    const db = new IndexDb(":memory:");
    await indexRoot(db, root, { mode: "triton" });
    assert.ok(db.queryKernels({}).every((k) => !k.staleGroupPaths));
  });
});
