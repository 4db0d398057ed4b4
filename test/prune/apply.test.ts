import assert from "node:assert/strict";
import { cpSync, existsSync, readFileSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { McmError } from "../../src/core/errors.js";
import type { ScanWarning } from "../../src/core/types.js";
import { IndexDb } from "../../src/db/index.js";
import { PlanTable } from "../../src/db/prune-plan.js";
import { type ApplyOptions, applyPlan } from "../../src/prune/apply.js";
import { findDuplicates } from "../../src/prune/fingerprint.js";
import { type Candidate, type PrunePlan, planDeduplicate, planFull, planIrOnly } from "../../src/prune/plan.js";
import { indexRoot } from "../../src/scan/indexer.js";
import { cleanupTemp, extractFixture, setAge, tempDir } from "../helpers/fixtures.js";
import { snapshot } from "../helpers/tree.js";

after(cleanupTemp);

async function candidatesOf(root: string): Promise<Candidate[]> {
  const db = new IndexDb(":memory:");
  await indexRoot(db, root, { mode: "triton" });
  return db.queryKernels({}).map((k) => ({ ...k, files: db.kernelBlob(k.path).files, liveWriter: null }));
}

/** applyPlan on `plan` put in a plan table, as prune does; the roots default to the entries' roots. */
function apply(plan: PrunePlan, opts: Omit<ApplyOptions, "roots"> & { roots?: string[] }) {
  const table = new PlanTable(plan.mode);
  for (const s of [...plan.entries, ...plan.skipped]) table.add(s);
  return applyPlan(table, { ...opts, roots: opts.roots ?? [...new Set(plan.entries.map((e) => e.root))] });
}

async function irPlan() {
  const root = extractFixture("triton-cache");
  return { root, plan: planIrOnly(await candidatesOf(root), { now: Date.now(), asm: false }) };
}

describe("applyPlan, the only deleter", () => {
  it("a file that vanished between plan and apply is a warning, not an error", async () => {
    const { plan } = await irPlan();
    const e = plan.entries[0] as PrunePlan["entries"][number];
    const gone = join(e.path, e.files[0] as string);
    rmSync(gone);
    const r = await apply(plan, { graceMs: 0, inFlightMs: 0 });
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
    const r = await apply(plan, { graceMs: 0, inFlightMs: 0 });
    assert.equal(r.kernels, plan.kernels - 1);
    assert.equal(r.warnings[0]?.path, e.path);
  });

  it("refuses to remove a binary or metadata on its own, whatever the plan says", async () => {
    const { plan } = await irPlan();
    const e = plan.entries[0] as PrunePlan["entries"][number];
    const bad: PrunePlan = { ...plan, entries: [{ ...e, files: [`${e.name}.cubin`] }] };
    await assert.rejects(apply(bad, { graceMs: 0, inFlightMs: 0 }), McmError);
    assert.ok(existsSync(join(e.path, `${e.name}.cubin`)));
    const meta: PrunePlan = { ...plan, entries: [{ ...e, files: [`${e.name}.json`] }] };
    await assert.rejects(apply(meta, { graceMs: 0, inFlightMs: 0 }), McmError);
  });

  it("never acts on a path outside the entry's root", async () => {
    const { plan } = await irPlan();
    const e = plan.entries[0] as PrunePlan["entries"][number];
    const r = await apply({ ...plan, entries: [{ ...e, root: "/nonexistent-root" }] }, { graceMs: 0, inFlightMs: 0 });
    assert.equal(r.kernels, 0);
    assert.match(r.warnings[0]?.message as string, /outside its cache root/);
  });

  it("a kernel folder swapped for a link between plan and apply: nothing is removed through the link", async () => {
    const { plan } = await irPlan();
    const e = plan.entries[0] as PrunePlan["entries"][number];
    const elsewhere = join(tempDir(), "kernel");
    cpSync(e.path, elsewhere, { recursive: true });
    rmSync(e.path, { recursive: true });
    symlinkSync(elsewhere, e.path);
    const before = snapshot(elsewhere);
    const r = await apply({ ...plan, entries: [e] }, { graceMs: 0, inFlightMs: 0 });
    assert.deepEqual(snapshot(elsewhere), before, "the files the link points at are untouched");
    assert.equal(r.kernels, 0);
    assert.deepEqual(
      r.warnings.map((w) => [w.path, w.code]),
      [[e.path, "changed"]],
    );
  });

  it("a cache root swapped for a link between plan and apply: nothing is removed through it", async () => {
    const { root, plan } = await irPlan();
    const moved = join(tempDir(), "real");
    renameSync(root, moved);
    const decoy = join(tempDir(), "decoy");
    cpSync(moved, decoy, { recursive: true });
    symlinkSync(decoy, root);
    const before = snapshot(decoy);
    const r = await apply(plan, { graceMs: 0, inFlightMs: 0 });
    assert.deepEqual(snapshot(decoy), before);
    assert.equal(r.files, 0);
    assert.equal(r.warnings.length, plan.entries.length);
  });

  it("--link: a file that changed between plan and apply keeps its content and is not linked", async () => {
    const root = extractFixture("triton-cache");
    const [orig] = (await candidatesOf(root)).filter((k) => k.name === "add_kernel");
    const copy = join(root, "A".repeat(52));
    cpSync((orig as Candidate).path, copy, { recursive: true });
    const warnings: ScanWarning[] = [];
    const plan = planDeduplicate(findDuplicates(await candidatesOf(root), true, warnings), {
      now: Date.now(),
      link: true,
    });
    assert.equal(plan.entries.length, 1);
    const e = plan.entries[0] as PrunePlan["entries"][number];
    const step = (e.links ?? []).find((l) => l.file.endsWith(".cubin"));
    assert.ok(step, "the binary is to be linked");
    const changed = join(e.path, step.file);
    writeFileSync(changed, "a compile rewrote this file since the plan");
    const r = await apply(plan, { graceMs: 0, inFlightMs: 0 });
    assert.equal(readFileSync(changed, "utf8"), "a compile rewrote this file since the plan");
    assert.notEqual(statSync(changed).ino, statSync(step.target).ino);
    assert.ok(r.warnings.some((w) => w.path === changed && w.code === "changed"));
    assert.equal(r.files, (e.links ?? []).length - 1, "the unchanged files are linked");
  });

  it("--link: a same-size file with other bytes is never linked, nor a target outside the roots in scope", async () => {
    const root = extractFixture("triton-cache");
    const [orig] = (await candidatesOf(root)).filter((k) => k.name === "add_kernel");
    const copy = join(root, "A".repeat(52));
    cpSync((orig as Candidate).path, copy, { recursive: true });
    const plan = planDeduplicate(findDuplicates(await candidatesOf(root), true, []), { now: Date.now(), link: true });
    const e = plan.entries[0] as PrunePlan["entries"][number];
    const [same, outside] = e.links ?? [];
    assert.ok(same && outside);
    // same size, other bytes (a digest that lied, or a file rewritten in place)
    const p = join(e.path, same.file);
    const bytes = readFileSync(p);
    bytes[bytes.length - 1] = (bytes[bytes.length - 1] as number) ^ 0xff;
    writeFileSync(p, bytes);
    // a twin of the right bytes, but outside every root in scope
    const elsewhere = join(tempDir(), outside.file);
    cpSync(outside.target, elsewhere);
    outside.target = elsewhere;
    const r = await apply(plan, { graceMs: 0, inFlightMs: 0, roots: [root] });
    assert.deepEqual(readFileSync(p), bytes, "the differing file keeps its own bytes");
    assert.notEqual(statSync(p).ino, statSync(same.target).ino);
    assert.notEqual(statSync(join(e.path, outside.file)).ino, statSync(elsewhere).ino);
    assert.ok(r.warnings.some((w) => w.path === p && /bytes differ/.test(w.message)));
    assert.ok(r.warnings.some((w) => w.path === join(e.path, outside.file) && w.code === "changed"));
    assert.equal(r.files, (e.links ?? []).length - 2);
  });

  it("unpublishes first: during the grace period the group files no longer offer what goes", async () => {
    const root = extractFixture("triton-cache");
    const plan = planIrOnly(await candidatesOf(root), { now: Date.now(), asm: false });
    const e = plan.entries[0] as PrunePlan["entries"][number];
    const group = join(e.path, `__grp__${e.name}.json`);
    let during: string[] = [];
    setTimeout(() => {
      during = Object.keys(JSON.parse(readFileSync(group, "utf8")).child_paths);
    }, 150);
    const r = await apply({ ...plan, entries: [e] }, { graceMs: 300, inFlightMs: 0 });
    assert.ok(during.length > 0, "looked during the grace");
    assert.deepEqual(
      during.filter((f) => e.files.includes(f)),
      [],
      "the IR is gone from the group file",
    );
    for (const f of e.files) assert.ok(existsSync(join(e.path, f)) === false, f);
    assert.equal(r.files, e.files.length);
  });

  // a compile (a second rank, or a miss after unpublishing) writing the kernel during the grace period
  async function compileDuringGrace(plan: PrunePlan, e: PrunePlan["entries"][number]) {
    const cubin = join(e.path, `${e.name}.cubin`);
    setTimeout(() => {
      writeFileSync(`${cubin}.tmp`, readFileSync(cubin));
      renameSync(`${cubin}.tmp`, cubin);
    }, 100);
    return apply({ ...plan, entries: [e] }, { graceMs: 300, inFlightMs: 0 });
  }

  it("IR-only: a kernel written during the grace period keeps all its files (the compile reads them back)", async () => {
    const root = extractFixture("triton-cache");
    const plan = planIrOnly(await candidatesOf(root), { now: Date.now(), asm: false });
    const e = plan.entries[0] as PrunePlan["entries"][number];
    const r = await compileDuringGrace(plan, e);
    for (const f of e.files) assert.ok(existsSync(join(e.path, f)), f);
    assert.equal(r.files, 0);
    assert.match(r.warnings[0]?.message as string, /written since it was unpublished/);
  });

  it("--full: a kernel written during the grace period stays where it is", async () => {
    const root = extractFixture("triton-cache");
    const plan = planFull(await candidatesOf(root), { now: Date.now() });
    const e = plan.entries[0] as PrunePlan["entries"][number];
    const r = await compileDuringGrace(plan, e);
    assert.ok(existsSync(join(e.path, `${e.name}.cubin`)));
    assert.equal(r.kernels, 0);
    assert.match(r.warnings[0]?.message as string, /written since it was unpublished/);
  });

  it("a kernel written a moment ago is left alone at apply time too", async () => {
    const root = extractFixture("triton-cache");
    const plan = planFull(await candidatesOf(root), { now: Date.now() });
    const e = plan.entries[0] as PrunePlan["entries"][number];
    writeFileSync(join(e.path, `${e.name}.ttir`), "a compile wrote this since the plan");
    setAge(join(e.path, `${e.name}.ttir`), 0); // by this process's clock, which faketime may move
    const r = await apply({ ...plan, entries: [e] }, { graceMs: 0, inFlightMs: 60_000 });
    assert.ok(existsSync(e.path));
    assert.equal(r.kernels, 0);
    assert.match(r.warnings[0]?.message as string, /a compile may be in flight/);
  });
});
