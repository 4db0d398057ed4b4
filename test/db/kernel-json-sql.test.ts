// list --json's elements written by SQLite (db/kernel-json-sql.ts) against
// kernelJson in JavaScript: the same bytes for every kind of kernel and value.
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { IndexDb } from "../../src/db/index.js";
import { kernelJson } from "../../src/report/kernel-json.js";
import { jsonElement } from "../../src/report/stream.js";
import { indexRoot } from "../../src/scan/indexer.js";
import { cleanupTemp, extractFixture, type FixtureName, tempDir } from "../helpers/fixtures.js";

after(cleanupTemp);

describe("kernels' --json written in SQL", () => {
  it("equals kernelJson's for Triton, Inductor and vLLM kernels, with hits, warnings, stale groups and odd times", async () => {
    const db = new IndexDb(join(tempDir(), "index.db"));
    const layouts = new Set<string>();
    for (const name of ["triton-cache", "torchinductor_root", "vllm-cache", "llama-binary-cache", "vllm-standalone"]) {
      await indexRoot(db, extractFixture(name as FixtureName), { mode: "auto" });
    }
    // values the fixtures lack: a hit (and a time with a fraction of a ms, just below a second), warnings, a stale group
    db.db.exec(`UPDATE kernels SET hits = 3, misses = 1, last_access = 1733234567999.75 WHERE rowid % 3 = 0;
      UPDATE kernels SET warnings = '[{"path": "x", "message": "m\\"q"}]', stale_group = 1 WHERE rowid % 4 = 0;
      UPDATE kernels SET modified_time = 86400000 WHERE rowid % 5 = 0;
      UPDATE kernels SET name = 'we"ird\\' || char(1, 8232, 233) WHERE rowid % 7 = 0`);
    const js = db.queryKernels({}).map((k) => {
      layouts.add(k.layout);
      return jsonElement(kernelJson(k), 1);
    });
    assert.deepEqual([...db.iterateKernelJson({})], js);
    assert.ok(js.length > 20);
    assert.deepEqual([...layouts].sort(), ["inductor", "triton", "vllm"]);
    // filters, order and limit are the listing's
    const sort = { field: "size", desc: true } as const;
    assert.deepEqual(
      [...db.iterateKernelJson({ name: { match: "glob", pattern: "*" } }, sort, 5)],
      db.queryKernels({ name: { match: "glob", pattern: "*" } }, sort, 5).map((k) => jsonElement(kernelJson(k), 1)),
    );
  });
});
