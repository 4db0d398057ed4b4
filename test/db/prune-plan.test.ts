import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { PlanTable } from "../../src/db/prune-plan.js";
import { finish, type PlanEntry, type SkippedEntry } from "../../src/prune/plan.js";

const entry = (i: number, extra: Partial<PlanEntry> = {}): PlanEntry => ({
  hash: `H${i}`,
  name: `k${i % 7}`,
  path: `/c/H${i}`,
  root: "/c",
  action: "remove-files",
  files: [`k${i}.ttir`, `k${i}.llir`].slice(0, 1 + (i % 2)),
  sizes: [10, 20].slice(0, 1 + (i % 2)),
  bytes: 10 + (i % 2) * 20,
  reason: "IR is not needed for a hit",
  ...extra,
});
const skip = (i: number): SkippedEntry => ({ hash: `S${i}`, path: `/c/S${i}`, root: "/c", reason: "recent" });

describe("the plan table (a plan kept out of memory)", () => {
  // more than a page (2000 rows) of each, so that paging is crossed
  const entries = Array.from({ length: 4500 }, (_, i) =>
    i % 1000 === 999
      ? entry(i, { action: "remove-unit", path: `/c/u${i}` })
      : i === 7
        ? entry(i, { action: "link-files", links: [{ file: "a", target: "/c/b" }] })
        : entry(i),
  );
  const skipped = Array.from({ length: 2100 }, (_, i) => skip(i));

  it("gives back every entry and kept kernel in the order they went in, and SQL totals equal to the plan's", () => {
    const t = new PlanTable("ir-only");
    entries.forEach((e, i) => {
      t.add(e);
      const s = skipped[i / 2];
      if (i % 2 === 0 && s) t.add(s);
    });
    const plan = finish("ir-only", entries, skipped);
    const totals = t.totals();
    assert.deepEqual(
      [totals.kernels, totals.units, totals.files, totals.bytes, totals.entries, totals.skipped, totals.links],
      [plan.kernels, plan.units, plan.files, plan.bytes, entries.length, skipped.length, true],
    );
    assert.deepEqual(
      [...t.texts(false)].map((x) => JSON.parse(x)),
      entries,
    );
    assert.deepEqual(
      [...t.texts(true)].map((x) => JSON.parse(x)),
      skipped,
    );
    assert.deepEqual([...t.texts(false, 3)].length, 3);
    assert.deepEqual(
      [...t.entryPages()].flat().map((h) => h.entry),
      entries,
    );
    t.close();
  });

  it("keeps step 1's folder states out of memory and pages through only the entries that have one", () => {
    const t = new PlanTable("full");
    for (const e of entries) t.add(e);
    const seqs = [...t.entryPages()].flat().map((h) => h.seq);
    const held = seqs.filter((_, i) => i % 3 === 0);
    t.hold(held.map((s) => [s, `state ${s}`]));
    const back = [...t.entryPages(true)].flat();
    assert.deepEqual(
      back.map((h) => [h.seq, h.state]),
      held.map((s) => [s, `state ${s}`]),
    );
    assert.deepEqual([...t.places()].length, entries.length);
    t.close();
  });
});
