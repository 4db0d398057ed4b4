// A peer of a shared cache plants links, FIFOs and endless files where mcm
// reads hit logs: mcm reads nothing outside the cache, removes nothing there,
// and never hangs.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { dbIn, mcm } from "../helpers/cli.js";
import { cleanupTemp, extractFixture, tempDir } from "../helpers/fixtures.js";
import { kernelFolders } from "../helpers/tree.js";

after(cleanupTemp);

const HOST = hostname().replace(/\//g, "_");
const DEAD_LOG = `${HOST}-999997-3.jsonl`;
const NO_HANG = { timeout: 60_000 };

function setup() {
  const db = dbIn(tempDir());
  const root = extractFixture("triton-cache", tempDir());
  assert.equal(mcm(["index", "--cache-dir", root], { db }).code, 0);
  const key = kernelFolders(root).sort()[0] as string;
  const line = `${JSON.stringify({ key, name: "k", hit: true, dir: root, t: Date.now() / 1000, pid: 1 })}\n`;
  return { db, root, key, line };
}

const hitsOf = (db: string, key: string) => {
  const r = mcm(["list", "--json"], { db, spawn: NO_HANG });
  assert.equal(r.code, 0, r.stderr);
  return (JSON.parse(r.stdout) as { hash: string; hits: number }[]).find((k) => k.hash === key)?.hits;
};

describe("hit logs in a hostile cache folder", () => {
  for (const planted of [".mcm", ".mcm/hits"]) {
    it(`a planted ${planted} link: logs outside are neither counted nor removed (list, index, stats, prune --dry-run)`, () => {
      const { db, root, key, line } = setup();
      const outside = tempDir();
      mkdirSync(join(outside, "hits"), { recursive: true });
      const target = planted === ".mcm" ? outside : join(outside, "hits");
      const log = join(outside, "hits", DEAD_LOG);
      writeFileSync(log, line + line);
      if (planted === ".mcm/hits") mkdirSync(join(root, ".mcm"));
      symlinkSync(target, join(root, planted));
      for (const args of [["list"], ["index"], ["stats"], ["prune", "--dry-run", "--full"]]) {
        const r = mcm([...args, "--cache-dir", root], { db, spawn: NO_HANG });
        assert.ok(r.code === 0 || r.code === 1, `${args[0]}: ${r.stderr}`);
        assert.ok(existsSync(log), `${args[0]} removed ${log}, outside the cache`);
      }
      assert.equal(readFileSync(log, "utf8"), line + line);
      assert.equal(hitsOf(db, key), 0);
    });
  }

  it("a log that is a FIFO, or a link to /dev/zero, neither hangs mcm nor is read", () => {
    const { db, root, key, line } = setup();
    const hits = join(root, ".mcm", "hits");
    mkdirSync(hits, { recursive: true });
    assert.equal(spawnSync("mkfifo", [join(hits, `${HOST}-999996-1.jsonl`)]).status, 0);
    symlinkSync("/dev/zero", join(hits, `${HOST}-999995-1.jsonl`));
    writeFileSync(join(hits, DEAD_LOG), line);
    assert.equal(hitsOf(db, key), 1, "the real log beside them is still read");
    assert.ok(existsSync(join(hits, `${HOST}-999996-1.jsonl`)), "the FIFO is not removed");
  });

  it("a log line longer than the cap is skipped as garbled; the lines after it count", () => {
    const { db, root, key, line } = setup();
    const hits = join(root, ".mcm", "hits");
    mkdirSync(hits, { recursive: true });
    const long = `${JSON.stringify({ key, name: "x".repeat(100_000), hit: true, dir: root, t: 1, pid: 1 })}\n`;
    writeFileSync(join(hits, DEAD_LOG), long + line);
    assert.equal(hitsOf(db, key), 1);
  });
});
