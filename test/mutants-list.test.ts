// The mutant list stays applicable: every mutant's text occurs exactly once in
// its file, so `npm run mutants` never stops half-way on a stale one.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { MUTANTS } from "./mutants-list.js";

const REPO = new URL("..", import.meta.url).pathname;

describe("mutants list", () => {
  it("each mutant's text occurs once in its file, and names tests that exist", () => {
    const stale = MUTANTS.filter((m) => readFileSync(`${REPO}${m.file}`, "utf8").split(m.from).length !== 2);
    assert.deepEqual(
      stale.map((m) => `${m.id} ${m.file}`),
      [],
    );
    for (const m of MUTANTS) for (const t of m.tests) readFileSync(`${REPO}${t}`);
    assert.equal(new Set(MUTANTS.map((m) => m.id)).size, MUTANTS.length, "ids are unique");
  });
});
