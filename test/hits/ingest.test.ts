import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { appendFileSync, existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { dbIn, mcm } from "../helpers/cli.js";
import { cleanupTemp, extractFixture, tempDir } from "../helpers/fixtures.js";
import { base32Key, ROCM_KERNEL, writeKernel } from "../helpers/synthetic.js";
import { kernelFolders } from "../helpers/tree.js";

after(cleanupTemp);

const HOST = hostname().replace(/\//g, "_");
const DEAD_PID = 999_999;
const DAY_MS = 86_400_000;

interface K {
  hash: string;
  name: string;
  hits: number;
  misses: number;
  lastAccess: string | null;
  path: string;
}

const event = (dir: string, key: string, hit: boolean, t = Date.now() / 1000, name = "k") =>
  `${JSON.stringify({ key, name, hit, dir, t, pid: 1 })}\n`;

function setup(ageMs = 0) {
  const db = dbIn(tempDir());
  const root = extractFixture("triton-cache", tempDir(), ageMs);
  assert.equal(mcm(["index", "--cache-dir", root], { db }).code, 0);
  const keys = kernelFolders(root).sort();
  const hits = join(root, ".mcm", "hits");
  mkdirSync(hits, { recursive: true });
  return { db, root, keys, hits };
}

const list = (db: string, ...args: string[]) => {
  const r = mcm(["list", ...args, "--json"], { db });
  return JSON.parse(r.stdout) as K[];
};

describe("hit logs", () => {
  it("list counts hits and misses per kernel, reads each event once, and removes finished logs", () => {
    const { db, root, keys, hits } = setup();
    const [a, b] = keys as [string, string];
    const live = join(hits, `${HOST}-${process.pid}-1.jsonl`);
    const dead = join(hits, `${HOST}-${DEAD_PID}-2.jsonl`);
    writeFileSync(live, event(root, a, true) + event(root, a, true) + event(root, b, false));
    writeFileSync(dead, event(root, a, true, 1_700_000_000));
    const first = list(db);
    assert.deepEqual([first.find((k) => k.hash === a)?.hits, first.find((k) => k.hash === b)?.misses], [3, 1]);
    assert.ok(existsSync(live), "a live writer's log stays");
    assert.ok(!existsSync(dead), "a finished log is removed once read");
    // read again: nothing counted twice; appended events are counted
    appendFileSync(live, event(root, b, true));
    const again = list(db);
    assert.equal(again.find((k) => k.hash === a)?.hits, 3);
    assert.deepEqual([again.find((k) => k.hash === b)?.hits, again.find((k) => k.hash === b)?.misses], [1, 1]);
  });

  it("torn and garbled lines are skipped and counted; a partial last line waits for its writer", () => {
    const { db, root, keys, hits } = setup();
    const [a] = keys as [string];
    const live = join(hits, `${HOST}-${process.pid}-3.jsonl`);
    writeFileSync(live, `${event(root, a, true)}{"key": "trunc\nnot json at all\n${event(root, a, true).slice(0, 20)}`);
    const r = mcm(["index", "--cache-dir", root, "--json"], { db });
    const s = JSON.parse(r.stdout).roots[0].hits;
    assert.deepEqual([s.events, s.skipped], [1, 2]);
    appendFileSync(live, event(root, a, true).slice(20));
    assert.equal(list(db).find((k) => k.hash === a)?.hits, 2, "the completed line counts");
    const dead = join(hits, `${HOST}-${DEAD_PID}-4.jsonl`);
    writeFileSync(dead, `${event(root, a, true)}{"key": "cut off by a kill`);
    const t = JSON.parse(mcm(["index", "--cache-dir", root, "--json"], { db }).stdout).roots[0].hits;
    assert.deepEqual([t.events, t.skipped, t.removed], [1, 1, 1]);
  });

  it("non-ASCII paths and names: a live log read, appended to and read again counts each event once", () => {
    // a cache under /home/josé/..., a kernel named in Chinese: the log's offsets are bytes, not characters
    const db = dbIn(tempDir());
    const root = extractFixture("triton-cache", tempDir("mcm-josé-缓存-"));
    const keys = kernelFolders(root).sort();
    const [a, b] = keys as [string, string];
    const hits = join(root, ".mcm", "hits");
    mkdirSync(hits, { recursive: true });
    const live = join(hits, `${HOST}-${process.pid}-8.jsonl`);
    const read = () => {
      const r = mcm(["index", "--cache-dir", root, "--json"], { db });
      assert.equal(r.code, 0, r.stderr);
      const h = JSON.parse(r.stdout).roots[0].hits;
      return [h.events, h.skipped];
    };
    writeFileSync(live, Array.from({ length: 20 }, () => event(root, a, true, undefined, "加法_kernel")).join(""));
    assert.deepEqual(read(), [20, 0]);
    appendFileSync(live, Array.from({ length: 5 }, () => event(root, b, false, undefined, "加法_kernel")).join(""));
    assert.deepEqual(read(), [5, 0], "only the appended events, none torn");
    assert.deepEqual(read(), [0, 0]);
    const ks = list(db);
    assert.deepEqual(
      [a, b].map((h) => [ks.find((k) => k.hash === h)?.hits, ks.find((k) => k.hash === h)?.misses]),
      [
        [20, 0],
        [0, 5],
      ],
    );
    assert.ok(existsSync(live), "a live writer's log stays");
  });

  it("every event counts exactly once while writers append and two mcm processes read", async () => {
    const { db, root, keys, hits } = setup();
    const [a] = keys as [string];
    // each writer names its log with its own pid, as the tracker does
    const writers = [0, 1].map(() =>
      spawn(
        process.execPath,
        [
          "-e",
          `const fs = require("fs");
           const fd = fs.openSync(${JSON.stringify(`${hits}/${HOST}-`)} + process.pid + "-5.jsonl", "a");
           for (let i = 0; i < 3000; i++) fs.writeSync(fd, ${JSON.stringify(event(root, a, true))});`,
        ],
        { stdio: "ignore" },
      ),
    );
    const bin = new URL("../../bin/mcm", import.meta.url).pathname;
    const readers = Array.from({ length: 6 }, () =>
      spawn(process.execPath, [bin, "--db", db, "list", "--json"], { stdio: "ignore" }),
    );
    await Promise.all([...writers, ...readers].map((p) => new Promise((r) => p.on("exit", r))));
    const final = list(db).find((k) => k.hash === a);
    assert.equal(final?.hits, 6000);
    assert.equal(readdirSync(hits).length, 0, "both writers are gone: their logs were read to the end and removed");
  });

  it("misses before a kernel exists are kept, and land on it once it is compiled", () => {
    const { db, root, hits } = setup();
    const key = base32Key(4242);
    writeFileSync(join(hits, `${HOST}-${DEAD_PID}-6.jsonl`), event(root, key, false, 1_700_000_000, "rocm_add"));
    assert.equal(mcm(["list"], { db }).code, 0);
    writeKernel(root, ROCM_KERNEL(key));
    const k = list(db, "-n", "rocm_add")[0];
    assert.deepEqual([k?.hits, k?.misses], [0, 1]);
    assert.equal(k?.lastAccess, new Date(1_700_000_000_000).toISOString());
  });

  it("every flag that reads hits: --cache-hit-lower/higher, --sort hits/last-access, show, stats, prune --max-size", () => {
    // written a day ago; hot was hit since, warm and cold only before that
    const { db, root, keys, hits } = setup(DAY_MS);
    const [hot, warm, cold] = keys as [string, string, string];
    const ago = (ms: number) => (Date.now() - ms) / 1000;
    const lines = [
      ...Array.from({ length: 5 }, () => event(root, hot, true, ago(60_000))),
      event(root, warm, true, ago(2 * DAY_MS)),
      event(root, warm, false, ago(2.5 * DAY_MS)),
      event(root, cold, false, ago(3 * DAY_MS), "add_kernel"),
      event(root, cold, false, ago(3 * DAY_MS - 1000), "add_kernel"),
    ];
    writeFileSync(join(hits, `${HOST}-${DEAD_PID}-7.jsonl`), lines.join(""));
    assert.deepEqual(
      list(db, "--cache-hit-higher", "2").map((k) => k.hash),
      [hot],
    );
    assert.equal(list(db, "--cache-hit-lower", "1").length, 12);
    assert.deepEqual(
      list(db, "--sort", "hits:desc", "--limit", "2").map((k) => k.hash),
      [hot, warm],
    );
    assert.equal(list(db, "--sort", "last-access:desc", "--limit", "1")[0]?.hash, hot);
    const show = mcm(["show", warm], { db }).stdout;
    assert.match(show, /lookups\s+1 hits, 1 misses \(50% hits\); first /);
    const stats = JSON.parse(mcm(["stats", "--json"], { db }).stdout);
    assert.equal(stats.hits, 6);
    assert.equal(stats.misses, 3);
    assert.ok(Math.abs(stats.hitRatio - 6 / 9) < 1e-9);
    assert.equal(stats.topMisses[0].misses, 2);
    // the budget evicts by last access where there is hit data: the hot kernel survives
    const total = stats.bytes as number;
    const p = JSON.parse(mcm(["prune", "--max-size", String(total - 200_000), "--dry-run", "--json"], { db }).stdout);
    assert.ok(!p.entries.some((e: { hash: string }) => e.hash === hot));
    assert.ok(p.entries.some((e: { hash: string; reason: string }) => e.hash === cold && /last hit/.test(e.reason)));
  });

  it("the Python tracker's own logs, end to end (Triton stand-in)", () => {
    const db = dbIn(tempDir());
    const root = tempDir();
    const keys = [base32Key(1), base32Key(2)];
    for (const k of keys) writeKernel(root, ROCM_KERNEL(k));
    assert.equal(mcm(["index", "--cache-dir", root], { db }).code, 0);
    const env = {
      ...process.env,
      PYTHONPATH: [
        new URL("../../python", import.meta.url).pathname,
        new URL("../python/stub", import.meta.url).pathname,
      ].join(":"),
      TRITON_CACHE_DIR: root,
      TRITON_CACHE_MANAGER: "mcm_tracker:TrackingCacheManager",
    };
    const code = `from mcm_tracker import TrackingCacheManager
for key in ${JSON.stringify([...keys, "MISSINGKEY"])} * 3:
    TrackingCacheManager(key).get_group("rocm_add.json")`;
    const r = spawnSync("python3", ["-c", code], { env, encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    const ks = list(db);
    assert.deepEqual(
      ks.map((k) => [k.hits, k.misses]),
      [
        [3, 0],
        [3, 0],
      ],
    );
    const stats = JSON.parse(mcm(["stats", "--json"], { db }).stdout);
    assert.equal(stats.topMisses[0].misses, 3, "the missing key's misses are reported");
  });
});

describe("mcm tracker", () => {
  it("prints the lines for the shell and installs the module", () => {
    const db = dbIn(tempDir());
    const r = mcm(["tracker"], { db });
    assert.match(r.stdout, /^export TRITON_CACHE_MANAGER=mcm_tracker:TrackingCacheManager$/m);
    assert.match(r.stdout, /^export PYTHONPATH=.*\/python\$\{PYTHONPATH:\+:\$PYTHONPATH\}$/m);
    const dir = join(tempDir(), "site");
    const j = JSON.parse(mcm(["tracker", "--install", dir, "--json"], { db }).stdout);
    assert.equal(j.module, join(dir, "mcm_tracker.py"));
    assert.ok(existsSync(j.module));
    assert.equal(j.env.PYTHONPATH, dir);
  });
});
