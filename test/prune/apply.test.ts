import assert from "node:assert/strict";
import { existsSync, rmSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { McmError } from "../../src/core/errors.js";
import { IndexDb } from "../../src/db/index.js";
import { applyPlan } from "../../src/prune/apply.js";
import { type Candidate, type PrunePlan, planIrOnly } from "../../src/prune/plan.js";
import { indexRoot } from "../../src/scan/indexer.js";
import { cleanupTemp, extractFixture } from "../helpers/fixtures.js";
import { snapshot } from "../helpers/tree.js";

after(cleanupTemp);

async function irPlan() {
  const root = extractFixture("triton-cache");
  const db = new IndexDb(":memory:");
  await indexRoot(db, root, { mode: "triton" });
  const candidates: Candidate[] = db
    .queryKernels({})
    .map((k) => ({ ...k, files: db.kernelBlob(k.path).files, liveWriter: null }));
  return { root, plan: planIrOnly(candidates, { now: Date.now(), asm: false }) };
}

describe("applyPlan, the only deleter", () => {
  it("a dry run checks everything and changes nothing", async () => {
    const { root, plan } = await irPlan();
    const before = snapshot(root);
    const r = applyPlan(plan, { dryRun: true });
    assert.deepEqual([r.kernels, r.files, r.bytes], [plan.kernels, plan.files, plan.bytes]);
    assert.deepEqual(snapshot(root), before);
  });

  it("a file that vanished between plan and apply is a warning, not an error", async () => {
    const { plan } = await irPlan();
    const e = plan.entries[0] as PrunePlan["entries"][number];
    const gone = join(e.path, e.files[0] as string);
    rmSync(gone);
    const r = applyPlan(plan, { dryRun: false });
    assert.equal(r.files, plan.files - 1);
    assert.deepEqual(
      r.warnings.map((w) => [w.path, w.message]),
      [[gone, "vanished before it was pruned"]],
    );
  });

  it("a kernel folder that vanished is a warning too", async () => {
    const { plan } = await irPlan();
    const e = plan.entries[1] as PrunePlan["entries"][number];
    rmSync(e.path, { recursive: true });
    const r = applyPlan(plan, { dryRun: false });
    assert.equal(r.kernels, plan.kernels - 1);
    assert.equal(r.warnings[0]?.path, e.path);
  });

  it("refuses to remove a binary or metadata on its own, whatever the plan says", async () => {
    const { plan } = await irPlan();
    const e = plan.entries[0] as PrunePlan["entries"][number];
    const bad: PrunePlan = { ...plan, entries: [{ ...e, files: [`${e.name}.cubin`] }] };
    assert.throws(() => applyPlan(bad, { dryRun: false }), McmError);
    assert.ok(existsSync(join(e.path, `${e.name}.cubin`)));
    const meta: PrunePlan = { ...plan, entries: [{ ...e, files: [`${e.name}.json`] }] };
    assert.throws(() => applyPlan(meta, { dryRun: true }), McmError);
  });

  it("never acts on a path outside the entry's root", async () => {
    const { plan } = await irPlan();
    const e = plan.entries[0] as PrunePlan["entries"][number];
    const r = applyPlan({ ...plan, entries: [{ ...e, root: "/nonexistent-root" }] }, { dryRun: false });
    assert.equal(r.kernels, 0);
    assert.match(r.warnings[0]?.message as string, /outside its cache root/);
  });
});
