// Several mcm processes opening one new database at once: each must find the
// schema made once (no "table roots already exists", no "database is locked").
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { outputOf } from "../helpers/cli.js";
import { cleanupTemp, extractFixture, tempDir } from "../helpers/fixtures.js";

after(cleanupTemp);

const BIN = new URL("../../bin/mcm", import.meta.url).pathname;
const OPEN = new URL("../../dist/db/open.js", import.meta.url).pathname;
const ROUNDS = 15;
const PROCESSES = 4;

describe("opening a new database", () => {
  it(`${PROCESSES} concurrent \`mcm index\` on a fresh db path, ${ROUNDS} times: all succeed`, async () => {
    const root = extractFixture("triton-cache");
    const failures: string[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const db = join(tempDir(), "new", "index.db");
      const runs = Array.from({ length: PROCESSES }, () =>
        outputOf(
          spawn(process.execPath, [BIN, "--db", db, "index", "--cache-dir", root], {
            env: { ...process.env, NO_COLOR: "1" },
            stdio: ["ignore", "pipe", "pipe"],
          }),
        ),
      );
      for (const r of await Promise.all(runs)) if (r.code !== 0) failures.push(`round ${round}: ${r.stderr.trim()}`);
    }
    assert.deepEqual(failures, []);
  });

  // Without mcm's start-up around it the race is far likelier: 6 processes that
  // wait for the same instant, then open one new database each round (without a
  // retry of SQLite's deadlock answer, about a third of the rounds fail here).
  it("6 processes opening one new database at the same instant, 40 times: all succeed", async () => {
    const dir = tempDir();
    const start = Date.now() + 2000;
    const script = `import { openIndexDatabase } from ${JSON.stringify(OPEN)};
      for (let round = 0; round < 40; round++) {
        while (Date.now() < ${start} + round * 40);
        try { openIndexDatabase(${JSON.stringify(dir)} + "/" + round + ".db").close(); }
        catch (e) { console.error("round " + round + ": " + e.code + " " + e.message); }
      }`;
    const runs = Array.from({ length: 6 }, () =>
      outputOf(spawn(process.execPath, ["--input-type=module", "-e", script], { stdio: ["ignore", "pipe", "pipe"] })),
    );
    const results = await Promise.all(runs);
    assert.deepEqual(
      results.map((r) => r.code),
      [0, 0, 0, 0, 0, 0],
    );
    assert.equal(results.map((r) => r.stderr).join(""), "");
  });
});
