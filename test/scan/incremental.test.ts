import assert from "node:assert/strict";
import { cpSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { IndexDb } from "../../src/db/index.js";
import { indexRoot } from "../../src/scan/indexer.js";
import { refreshRoots } from "../../src/scan/refresh.js";
import { cleanupTemp, extractFixture, tempDir } from "../helpers/fixtures.js";
import { base32Key } from "../helpers/synthetic.js";

after(cleanupTemp);

function kernelKeys(root: string): string[] {
  return readdirSync(root).filter((k) => readdirSync(join(root, k)).some((f) => f.startsWith("__grp__")));
}

describe("incremental index", () => {
  it("re-reads only changed folders, adds new ones, drops vanished ones, keeps hit data", async () => {
    const root = extractFixture("triton-cache");
    const db = new IndexDb(":memory:");
    const first = await indexRoot(db, root, { mode: "auto" });
    assert.deepEqual([first.added, first.updated, first.removed, first.unchanged], [14, 0, 0, 0]);

    const again = await indexRoot(db, root, { mode: "auto" });
    assert.deepEqual([again.added, again.updated, again.removed, again.unchanged], [0, 0, 0, 14]);

    const [changed, gone, template] = kernelKeys(root) as [string, string, string];
    db.db.prepare("UPDATE kernels SET hits = 7, last_access = 123 WHERE key = ?").run(changed);
    const changedFolder = join(root, changed);
    const ir = readdirSync(changedFolder).find((f) => f.endsWith(".ttir")) as string;
    rmSync(join(changedFolder, ir));
    rmSync(join(root, gone), { recursive: true });
    cpSync(join(root, template), join(root, base32Key(99)), { recursive: true });

    const third = await indexRoot(db, root, { mode: "auto" });
    assert.deepEqual([third.added, third.updated, third.removed, third.unchanged], [1, 1, 1, 12]);
    assert.equal(third.kernels, 14);
    const row = db.kernelsByPrefix(changed)[0];
    assert.equal(row?.fileCount, 7, "the changed kernel was re-read");
    assert.equal(row?.hits, 7, "hit data survives a re-read");
    assert.equal(row?.lastAccess, 123);
    assert.equal(db.kernelsByPrefix(gone).length, 0);
    assert.equal(db.kernelsByPrefix(base32Key(99)).length, 1);
  });

  it("shares the stat calls of a re-index with a worker: changes in either share are found", async () => {
    const root = extractFixture("triton-cache");
    const [template] = kernelKeys(root) as [string];
    // enough kernels for several batches (a batch holds whole buckets, about 256 entries)
    for (let i = 0; i < 1200; i++) cpSync(join(root, template), join(root, base32Key(1000 + i)), { recursive: true });
    const db = new IndexDb(join(tempDir(), "shared.db"));
    const opts = { mode: "auto" as const, threads: 2, minJobsForThreads: 0 };
    const first = await indexRoot(db, root, opts);
    const again = await indexRoot(db, root, opts);
    assert.deepEqual([again.added, again.updated, again.removed, again.unchanged], [0, 0, 0, first.kernels]);
    // spread over the whole listing: every 7th kernel removed, every 5th other one changed
    const keys = kernelKeys(root);
    let removed = 0;
    let changed = 0;
    keys.forEach((k, i) => {
      if (i % 7 === 0) {
        rmSync(join(root, k), { recursive: true });
        removed++;
      } else if (i % 5 === 0) {
        rmSync(join(root, k, readdirSync(join(root, k)).find((f) => f.endsWith(".ttir")) as string));
        changed++;
      }
    });
    const third = await indexRoot(db, root, opts);
    assert.deepEqual(
      [third.added, third.updated, third.removed, third.unchanged],
      [0, changed, removed, first.kernels - removed - changed],
    );
    db.close();
  });

  it("refresh costs nothing on a clean root and re-indexes a changed one", async () => {
    const root = extractFixture("vllm-cache");
    const db = new IndexDb(":memory:");
    await indexRoot(db, root, { mode: "auto" });
    assert.deepEqual(await refreshRoots(db, undefined, {}), [], "nothing changed: nothing re-indexed");

    const tc = join(root, "torch_compile_cache", "0a1b2c3d4e", "rank_0_0", "triton_cache");
    const victim = kernelKeys(tc)[0] as string;
    rmSync(join(tc, victim), { recursive: true });
    const [s] = await refreshRoots(db, undefined, {});
    assert.equal(s?.removed, 1);
    assert.equal(s?.kernels, 54);
  });

  it("a root that disappeared is dropped from the index", async () => {
    const root = extractFixture("triton-cache");
    const db = new IndexDb(":memory:");
    await indexRoot(db, root, { mode: "auto" });
    rmSync(root, { recursive: true });
    await refreshRoots(db, undefined, {});
    assert.equal(db.roots().length, 0);
    assert.equal(db.queryKernels({}).length, 0);
  });
});
