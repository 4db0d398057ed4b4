import assert from "node:assert/strict";
import { mkdirSync, utimesSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { checkBatch } from "../../src/scan/check.js";
import { CheckPool } from "../../src/scan/check-pool.js";
import { cleanupTemp, tempDir } from "../helpers/fixtures.js";

after(cleanupTemp);

describe("CheckPool", () => {
  it("gives what this thread alone gives, in order, over many chunks and workers", async () => {
    const dir = tempDir();
    // 300 batches of 3 names: a worker's share is several chunks; every other name exists, with its own mtime
    const batches = Array.from({ length: 300 }, (_, b) => {
      const names = [0, 1, 2].map((i) => `e${b}-${i}`);
      names.forEach((n, i) => {
        if (i % 2 !== 0) return;
        mkdirSync(join(dir, n));
        utimesSync(join(dir, n), 1e6 + b, 1e6 + b * 3 + i);
      });
      return { dir: { path: dir }, names, fresh: false, digests: {} };
    });
    batches[7] = { ...(batches[7] as (typeof batches)[number]), digests: checkBatch(batches[7] as never).digests };
    const alone = batches.map(checkBatch);
    assert.equal(alone[7]?.done, true);
    for (const helpers of [0, 1, 3]) {
      const pool = new CheckPool(helpers);
      const shared = await pool.run(batches);
      await pool.close();
      assert.deepEqual(
        shared.map((c) => [c.digests, [...c.mtimes], c.done]),
        alone.map((c) => [c.digests, [...c.mtimes], c.done]),
      );
    }
  });
});
