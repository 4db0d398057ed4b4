// `mcm pull` against a registry that lies (security issue, item 8): a layer body
// without end, a drip that is never idle, a pull killed mid-download, folders a
// killed pull left, and --max-size. Each runs the built CLI against a server here.
import assert from "node:assert/strict";
import { type ChildProcessByStdio, spawn, spawnSync } from "node:child_process";
import { mkdirSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { after, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { type CliResult, dbIn, outputOf } from "../../helpers/cli.js";
import { cleanupTemp, tempDir } from "../../helpers/fixtures.js";
import { drip, endless, type HostileOptions, REPO, stall, startHostileRegistry } from "./hostile-server.js";

const BIN = new URL("../../../bin/mcm", import.meta.url).pathname;
const servers: { stop(): Promise<void> }[] = [];

after(async () => {
  for (const s of servers) await s.stop();
  cleanupTemp();
});

async function serve(o: HostileOptions) {
  const s = await startHostileRegistry(o);
  servers.push(s);
  return s;
}

/** `mcm pull` with its own TMPDIR; SIGKILLed after `killAfterMs` so a hang fails the test instead of stalling it. */
function startPull(ref: string, tmp: string, env: Record<string, string> = {}, ...args: string[]) {
  const child: ChildProcessByStdio<null, Readable, Readable> = spawn(
    process.execPath,
    [BIN, "pull", ref, "--insecure", "--cache-dir", join(tempDir(), "cache"), ...args],
    {
      env: { ...process.env, MCM_DB: dbIn(tempDir()), NO_COLOR: "1", TMPDIR: tmp, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  return { child, done: outputOf(child) };
}

async function pull(ref: string, tmp: string, env: Record<string, string>, killAfterMs: number, ...args: string[]) {
  const { child, done } = startPull(ref, tmp, env, ...args);
  const killer = setTimeout(() => child.kill("SIGKILL"), killAfterMs);
  const r: CliResult & { killed?: boolean } = await done;
  clearTimeout(killer);
  if (child.signalCode === "SIGKILL") r.killed = true;
  return r;
}

const pullDirs = (tmp: string) => readdirSync(tmp).filter((n) => n.startsWith("mcm-pull-"));
/** the error is one line (beside the note that this image names no GPU targets) */
const oneLine = (r: CliResult) =>
  assert.equal(r.stderr.split("\n").filter((l) => l && !l.startsWith("could not check")).length, 1, r.stderr);
const askedForLayer = (reg: { requests: string[]; layerDigests: string[] }) =>
  reg.requests.some((q) => reg.layerDigests.some((d) => q.endsWith(`/blobs/${d}`)));

describe("pull from a registry that lies", () => {
  it("a layer body without end stops at the size its descriptor lists: one line, exit 2, no temp folder", async () => {
    const reg = await serve({ layerSizes: [295_870], serveLayer: endless() });
    const tmp = tempDir();
    const r = await pull(`${reg.host}/${REPO}:v1`, tmp, {}, 60_000);
    assert.equal(r.killed, undefined, "pull did not end");
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /127\.0\.0\.1:\d+: layer sha256:\w+ sent more than the 295870 bytes its descriptor lists/);
    oneLine(r);
    // what is in flight in socket buffers is all that may pass the cap
    assert.ok(reg.layerBytesSent() < 16 * 1024 * 1024, `the server sent ${reg.layerBytesSent()} bytes`);
    assert.deepEqual(pullDirs(tmp), []);
  });

  it("a drip of one byte every 200 ms ends at the deadline (MCM_HTTP_DEADLINE_S): one line, exit 2", async () => {
    const reg = await serve({ layerSizes: [1000], serveLayer: drip(1000, 200) });
    const tmp = tempDir();
    const started = Date.now();
    const r = await pull(`${reg.host}/${REPO}:v1`, tmp, { MCM_HTTP_DEADLINE_S: "2" }, 30_000);
    assert.equal(r.killed, undefined, "pull was still running after 30 s");
    assert.equal(r.code, 2, r.stderr);
    const digest = reg.layerDigests[0];
    assert.ok(
      r.stderr.includes(`mcm: ${reg.host}: the download of ${digest} did not finish within 2 s`),
      `${digest}: ${r.stderr}`,
    );
    oneLine(r);
    assert.ok(Date.now() - started < 15_000);
    assert.deepEqual(pullDirs(tmp), []);
  });

  it("refuses a descriptor whose size is not a byte count, before downloading", async () => {
    const reg = await serve({ layerSizes: [-1], serveLayer: endless() });
    const r = await pull(`${reg.host}/${REPO}:v1`, tempDir(), {}, 60_000);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /layer sha256:\w+ lists size -1, not a byte count/);
    oneLine(r);
    assert.equal(reg.layerBytesSent(), 0);
  });

  for (const [signal, code] of [
    ["SIGINT", 130],
    ["SIGTERM", 143],
  ] as const) {
    it(`${signal} while a layer downloads removes the temp folder (mcm-pull-<pid>-...) and exits ${code}`, async () => {
      const reg = await serve({ layerSizes: [295_870], serveLayer: stall(295_870, 64 * 1024) });
      const tmp = tempDir();
      const { child, done } = startPull(`${reg.host}/${REPO}:v1`, tmp);
      const killer = setTimeout(() => child.kill("SIGKILL"), 30_000);
      // wait until the first bytes are on disk: the download is under way
      let dir: string | undefined;
      for (let i = 0; i < 200 && !dir; i++, await sleep(50)) {
        dir = pullDirs(tmp).find((d) => readdirSync(join(tmp, d)).some((f) => statSync(join(tmp, d, f)).size > 0));
      }
      assert.ok(dir, "no temp folder with bytes in it appeared");
      child.kill(signal);
      const r = await done;
      clearTimeout(killer);
      assert.equal(r.code, code, `${child.signalCode} ${r.stderr}`);
      assert.deepEqual(pullDirs(tmp), []);
      assert.match(dir, new RegExp(`^mcm-pull-${child.pid}-`));
    });
  }

  it("a later pull removes the temp folders of pulls whose process is gone, and no other", async () => {
    const tmp = tempDir();
    const deadPid = spawnSync("true").pid as number;
    const dead = join(tmp, `mcm-pull-${deadPid}-x`);
    const live = join(tmp, `mcm-pull-${process.pid}-y`);
    const other = join(tmp, "mcm-pull-Ab12Cd"); // no pid in its name: whose it is cannot be told
    for (const d of [dead, live, other]) {
      mkdirSync(d);
      writeFileSync(join(d, "layer-0.tar.gz"), "partial");
    }
    const reg = await serve({ layerSizes: [10], serveLayer: endless() });
    const r = await pull(`${reg.host}/no/such:v1`, tmp, {}, 30_000);
    assert.equal(r.code, 2, r.stderr);
    assert.deepEqual(pullDirs(tmp).sort(), [`mcm-pull-${process.pid}-y`, "mcm-pull-Ab12Cd"].sort());
  });

  it("--max-size refuses before any layer is fetched when the listed layers sum above it", async () => {
    const reg = await serve({ layerSizes: [600 * 1024, 600 * 1024], serveLayer: endless() });
    const tmp = tempDir();
    const r = await pull(`${reg.host}/${REPO}:v1`, tmp, {}, 30_000, "--max-size", "1Mi");
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /the image's 2 layers list 1\.17 MiB, above --max-size 1 MiB; nothing was downloaded/);
    oneLine(r);
    assert.equal(askedForLayer(reg), false);
    assert.deepEqual(pullDirs(tmp), []);
    // at or under the cap, the download goes ahead (and this server's layers fail their own cap)
    const under = await pull(`${reg.host}/${REPO}:v1`, tmp, {}, 30_000, "--max-size", "2Mi");
    assert.match(under.stderr, /sent more than the 614400 bytes its descriptor lists/);
  });

  it("--max-size with no size in it: one line, exit 2, no request", async () => {
    const reg = await serve({ layerSizes: [10], serveLayer: endless() });
    const r = await pull(`${reg.host}/${REPO}:v1`, tempDir(), {}, 30_000, "--max-size", "lots");
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /invalid size 'lots'/);
    oneLine(r);
    assert.deepEqual(reg.requests, []);
  });
});
