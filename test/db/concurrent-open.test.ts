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
});
