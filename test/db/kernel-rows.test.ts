import assert from "node:assert/strict";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { IndexDb } from "../../src/db/index.js";
import { indexRoot } from "../../src/scan/indexer.js";
import { cleanupTemp, extractFixture, tempDir } from "../helpers/fixtures.js";

after(cleanupTemp);

describe("kernel rows", () => {
  for (const fixture of ["triton-cache", "vllm-cache"] as const) {
    it(`${fixture}: a streamed row (read as an array) is the row read as an object, field for field`, async () => {
      const db = new IndexDb(join(tempDir(), "index.db"));
      const root = extractFixture(fixture);
      await indexRoot(db, root, { mode: "auto" });
      const streamed = db.queryKernels({});
      assert.ok(streamed.length > 0);
      for (const k of streamed) {
        const [byObject] = db.kernelsByPrefix(k.key).filter((x) => x.path === k.path);
        assert.deepEqual(k, byObject);
      }
      db.close();
    });
  }

  it("iteratePacked: each listed kernel's columns, and its metadata's hash (a string), ptx_version (a number) and debug (true) as JSON.parse reads them", async () => {
    const db = new IndexDb(join(tempDir(), "index.db"));
    for (const fixture of ["triton-cache", "vllm-cache"] as const)
      await indexRoot(db, extractFixture(fixture), { mode: "auto" });
    // what a neighbour's or an old Triton's <name>.json may hold instead
    const odd = [
      "not json {",
      "[1, 2]",
      '"a string"',
      '{"hash": 7, "ptx_version": "8.4", "debug": "true"}',
      '{"hash": "h\\u00e9", "ptx_version": 8.5, "debug": true}',
      '{"ptx_version": 84, "debug": 1}',
      null,
    ];
    const paths = db.queryKernels({}).map((k) => k.path);
    const set = db.db.prepare("UPDATE kernel_blobs SET metadata = ? WHERE path = ?");
    for (const [i, m] of odd.entries()) set.run(m, paths[i]);
    const facts = (text: string | null) => {
      let m: Record<string, unknown> = {};
      try {
        const v: unknown = JSON.parse(text ?? "{}");
        if (v && typeof v === "object") m = v as Record<string, unknown>;
      } catch {}
      return {
        hash: typeof m.hash === "string" ? m.hash : null,
        ptxVersion: typeof m.ptx_version === "number" ? m.ptx_version : null,
        debug: m.debug === true,
      };
    };
    const want = db.queryKernels({}).map((k) => ({
      path: k.path,
      root: k.root,
      layout: k.layout,
      key: k.key,
      backend: k.backend,
      arch: k.arch,
      warpSize: k.warpSize,
      numWarps: k.numWarps,
      numStages: k.numStages,
      vllmHash: k.vllmHash,
      embedded: k.embedded > 0,
      ...facts(db.kernelBlob(k.path).metadata),
    }));
    const got = [...db.iteratePacked({})];
    assert.deepEqual(got, want);
    assert.ok(got.some((k) => k.hash !== null && k.ptxVersion !== null));
    assert.deepEqual(
      got.slice(0, odd.length).map((k) => [k.hash, k.ptxVersion, k.debug]),
      odd.map((m) => Object.values(facts(m))),
    );
    db.close();
  });
});
