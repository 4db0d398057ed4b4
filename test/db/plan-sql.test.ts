// The IR-only and --full plans that SQLite writes (db/plan-sql.ts) against the
// rules they implement (prune/plan.ts irOnlyStep and fullStep, one kernel at a
// time in JavaScript): the same rows, the same JSON bytes, the same totals.
import assert from "node:assert/strict";
import { readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import type { KernelFilters } from "../../src/core/filters.js";
import { candidatesSql, iterateCandidates, WITH_WRITER_FILES, withWriterFiles } from "../../src/db/candidates.js";
import { IndexDb } from "../../src/db/index.js";
import { kernelStepsSelect, type SqlStepOptions } from "../../src/db/plan-sql.js";
import { PlanTable } from "../../src/db/prune-plan.js";
import { pidAlive } from "../../src/prune/lock.js";
import { type Candidate, fullStep, irOnlyStep, writerReason } from "../../src/prune/plan.js";
import { writerPids } from "../../src/prune/unpublish.js";
import { indexRoot } from "../../src/scan/indexer.js";
import { cleanupTemp, extractFixture, setAge, tempDir } from "../helpers/fixtures.js";

after(cleanupTemp);

const DEAD_PID = 2 ** 22 + 17; // above Linux's pid_max: never alive

const liveWriter = (k: { files: { name: string }[] }) => writerPids(k.files.map((f) => f.name)).find(pidAlive) ?? null;

/** A fixture cache with a kernel of each kind the rules tell apart, indexed into a database file. */
async function setup() {
  const root = extractFixture("triton-cache");
  const [live, dead, odd, young] = readdirSync(root)
    .filter((d) => /^[A-Z0-9]{52}$/.test(d))
    .sort()
    .map((d) => join(root, d));
  writeFileSync(join(live as string, `tmp.pid_${process.pid}_0a1b`), "x");
  writeFileSync(join(dead as string, `tmp.pid_${DEAD_PID}_0a1b`), "x");
  // names JSON must escape: a quote, a backslash, a control character, a line separator, non-ASCII
  writeFileSync(join(odd as string, 'we"ird\\n\u0001\u2028é.ttir'), "ir");
  for (const d of [live, dead, odd]) setAge(d as string, 30 * 86_400_000);
  setAge(young as string, 5_000);
  const db = new IndexDb(join(tempDir(), "index.db"));
  await indexRoot(db, root, { mode: "triton" });
  return { db, root };
}

function viaSteps(db: IndexDb, f: KernelFilters, o: SqlStepOptions): PlanTable {
  const plan = new PlanTable(o.mode);
  for (const k of iterateCandidates(db, f, "path", o.now)) {
    const c = { ...k, liveWriter: liveWriter(k) } as Candidate;
    const s = o.mode === "full" ? fullStep(c, o) : irOnlyStep(c, o);
    if (s) plan.add(s);
  }
  return plan;
}

function viaSql(db: IndexDb, f: KernelFilters, o: SqlStepOptions): PlanTable {
  const plan = new PlanTable(o.mode);
  const live: [string, string][] = [];
  for (const k of withWriterFiles(db, f, o.now)) {
    const pid = liveWriter(k);
    if (pid !== null) live.push([k.path, writerReason(pid)]);
  }
  plan.addFromIndex(db.path, kernelStepsSelect(f, o), live);
  return plan;
}

const shown = (p: PlanTable) => ({ totals: p.totals(), entries: [...p.texts(false)], kept: [...p.texts(true)] });

describe("plans written in SQL", () => {
  it("equal the rules' plans, byte for byte, for each mode, protection and filter", async () => {
    const { db, root } = await setup();
    const now = Date.now();
    const cases: [KernelFilters, SqlStepOptions][] = [];
    for (const mode of ["ir-only", "full"] as const)
      for (const asm of mode === "full" ? [false] : [false, true])
        for (const inFlightMs of [undefined, 60_000])
          for (const keepRecentMs of [undefined, 10 * 86_400_000])
            for (const f of [
              {},
              { cacheDir: root },
              { name: { match: "exact", name: "add_kernel" } },
            ] as KernelFilters[])
              cases.push([f, { mode, asm, now, inFlightMs, keepRecentMs }]);
    let withKept = 0;
    for (const [f, o] of cases) {
      const sql = shown(viaSql(db, f, o));
      assert.deepEqual(sql, shown(viaSteps(db, f, o)), JSON.stringify(o));
      if (sql.kept.length) withKept++;
    }
    // the cases reach what they are for: kept kernels, the live writer's and the young one's
    assert.ok(withKept >= cases.length / 2);
    const all = shown(viaSql(db, {}, { mode: "ir-only", asm: false, now, inFlightMs: 60_000 }));
    assert.equal(all.kept.length, 2);
    assert.ok(all.kept.some((t) => t.includes(`(pid ${process.pid})`)));
    assert.ok(all.entries.some((t) => t.includes(JSON.stringify('we"ird\\n\u0001\u2028é.ttir'))));
  });

  it("finds the kernels with a writer's files through their partial index, not by reading every row", async () => {
    const { db, root } = await setup();
    assert.deepEqual(
      [...withWriterFiles(db, {})].map((k) => k.files.find((f) => f.name.startsWith("tmp.pid_"))?.name).sort(),
      [`tmp.pid_${process.pid}_0a1b`, `tmp.pid_${DEAD_PID}_0a1b`].sort(),
    );
    for (const f of [{}, { cacheDir: root }] as KernelFilters[]) {
      const { sql, args } = candidatesSql(f, WITH_WRITER_FILES, "k.path", Date.now());
      const plan = db.db
        .prepare(`EXPLAIN QUERY PLAN ${sql}`)
        .all(...args)
        .map((r) => (r as { detail: string }).detail);
      assert.ok(
        plan.some((d) => d.includes("USING INDEX kernel_blobs_writer_files")),
        plan.join("; "),
      );
    }
  });
});
