// Prune in a shared cache folder whose other users race it or plant things:
// links where mcm's trash goes, a second rank compiling a key as it goes,
// locks that are not locks, folders nobody may enter. Nothing leaves the root,
// no kernel is left half, no prune hangs or fails for good.
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, readdirSync, renameSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { dbIn, mcm, outputOf } from "../helpers/cli.js";
import { failpointEnv, reached, release } from "../helpers/failpoints.js";
import { cleanupTemp, extractFixture, setAge, tempDir } from "../helpers/fixtures.js";
import { kernelFolders } from "../helpers/tree.js";

after(cleanupTemp);

const BIN = new URL("../../bin/mcm", import.meta.url).pathname;
const LIVE = new URL("./live/", import.meta.url).pathname;
const NO_HANG = { timeout: 60_000 };
const FAST = { MCM_LOCK_TIMEOUT_MS: "300" };

function setup() {
  const db = dbIn(tempDir());
  const root = extractFixture("triton-cache");
  assert.equal(mcm(["index", "--cache-dir", root], { db }).code, 0);
  return { db, root };
}

const startPrune = (db: string, root: string, env: Record<string, string>) =>
  spawn(process.execPath, [BIN, "prune", "--full", "-y", "-v", "--grace", "0", "--cache-dir", root], {
    env: { ...process.env, MCM_DB: db, NO_COLOR: "1", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });

describe("prune in a hostile cache folder", () => {
  it("a peer that keeps planting .mcm-trash -> outside receives nothing", async () => {
    const { db, root } = setup();
    const outside = tempDir();
    const n = kernelFolders(root).length;
    // re-creates the link as fast as it can, as the attacker did
    const planter = spawn("sh", ["-c", `while :; do ln -sfn ${outside} ${root}/.mcm-trash 2>/dev/null; done`], {
      stdio: "ignore",
    });
    try {
      const r = mcm(["prune", "--full", "-y", "--grace", "0", "--cache-dir", root], { db, spawn: NO_HANG });
      assert.equal(r.code, 0, r.stderr);
    } finally {
      planter.kill();
    }
    assert.deepEqual(readdirSync(outside), [], "kernels were moved outside the root");
    assert.equal(kernelFolders(root).length, 0, `all ${n} kernels are pruned, inside the root`);
  });

  it("the trash swapped for a link just before a rename: refused, nothing leaves the root", async () => {
    const { db, root } = setup();
    const outside = tempDir();
    const fp = tempDir();
    const before = kernelFolders(root).length;
    const child = startPrune(db, root, failpointEnv(fp, "prune.before-trash"));
    const done = outputOf(child);
    assert.ok(await reached(fp, "prune.before-trash"), "prune never reached its first rename");
    const trash = readdirSync(root).find((f) => f.startsWith(".mcm-trash-")) as string;
    renameSync(join(root, trash), join(outside, "real-trash"));
    symlinkSync(outside, join(root, trash));
    for (let i = 1; i <= before; i++) release(fp, "prune.before-trash", i);
    const r = await done;
    assert.notEqual(r.code, 0, "a swapped trash must stop the prune");
    assert.match(r.stderr, /no longer a real folder|swapped/);
    assert.deepEqual(readdirSync(join(outside, "real-trash")), []);
    assert.deepEqual(
      readdirSync(outside).filter((f) => f !== "real-trash"),
      [],
      "a kernel went through the link",
    );
    assert.equal(kernelFolders(root).length, before);
  });

  /** A kernel compiled once by the Triton stand-in, indexed; `py` runs one phase of live/rewrite.py on it. */
  function secondRank() {
    const root = tempDir();
    const db = dbIn(tempDir());
    const spec = join(tempDir(), "spec.json");
    writeFileSync(spec, JSON.stringify({ name: "add_kernel", variant: 1, size: 5000 }));
    const key = "A".repeat(52);
    const py = (phase: string, ...args: string[]) =>
      spawnSync("python3", [join(LIVE, "rewrite.py"), root, key, spec, phase, ...args], { encoding: "utf8" });
    assert.equal(py("load").stdout.trim(), "miss");
    setAge(root, 3_600_000);
    assert.equal(mcm(["index", "--cache-dir", root], { db }).code, 0);
    return { root, db, key, py };
  }

  it("a second rank compiling a key while prune takes it away: the kernel is whole afterwards (Triton stand-in)", async () => {
    const { root, db, key, py } = secondRank();
    const fp = tempDir();
    const child = startPrune(db, root, failpointEnv(fp, "prune.before-trash", "prune.trashed"));
    const done = outputOf(child);
    assert.ok(await reached(fp, "prune.before-trash"));
    assert.equal(py("stages").status, 0); // its binary lands in the folder prune is about to empty
    release(fp, "prune.before-trash");
    assert.ok(await reached(fp, "prune.trashed"));
    assert.equal(py("finish").status, 0); // the rest lands while prune is at it
    release(fp, "prune.trashed");
    const r = await done;
    assert.equal(r.code, 0, r.stderr);
    const files = readdirSync(join(root, key));
    assert.ok(files.includes("add_kernel.cubin"), `half kernel left: ${files.join(" ")}`);
    assert.equal(py("load").stdout.trim(), "hit");
  });

  it("a second rank that compiled the whole key again after the check: prune takes none of it", async () => {
    const { root, db, key, py } = secondRank();
    const fp = tempDir();
    const child = startPrune(db, root, failpointEnv(fp, "prune.before-trash"));
    const done = outputOf(child);
    assert.ok(await reached(fp, "prune.before-trash"));
    // every name the check saw now holds the new compile's file (a new inode): an emptied folder would rmdir
    assert.equal(py("stages").status, 0);
    assert.equal(py("finish").status, 0);
    release(fp, "prune.before-trash");
    const r = await done;
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /left alone/);
    assert.equal(readdirSync(join(root, key)).length, 8, readdirSync(join(root, key)).join(" "));
    assert.equal(py("load").stdout.trim(), "hit");
  });

  it("a second rank inside a put (temp file written, not moved in yet) while prune takes the kernel: its os.replace succeeds", async () => {
    const { root, db, key, py } = secondRank();
    const fp = tempDir();
    const child = startPrune(db, root, failpointEnv(fp, "prune.before-trash", "prune.trashed"));
    const done = outputOf(child);
    assert.ok(await reached(fp, "prune.before-trash"));
    const begin = py("begin"); // makes tmp.pid_<pid>_<id>/ in the kernel folder and writes its first stage there
    assert.equal(begin.status, 0, begin.stderr);
    release(fp, "prune.before-trash");
    assert.ok(await reached(fp, "prune.trashed"));
    const resume = py("resume", begin.stdout.trim()); // os.replace out of its temp folder, then the rest of the compile
    release(fp, "prune.trashed");
    assert.equal(resume.status, 0, `Triton would have crashed: ${resume.stderr}`);
    const r = await done;
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /left alone/);
    assert.equal(py("load").stdout.trim(), "hit");
    assert.deepEqual(
      readdirSync(join(root, key)).filter((f) => f.startsWith("tmp.")),
      [],
    );
  });

  for (const [what, plant] of [
    ["a link to /dev/zero", (p: string) => symlinkSync("/dev/zero", p)],
    ["a FIFO", (p: string) => assert.equal(spawnSync("mkfifo", [p]).status, 0)],
    ["a folder", (p: string) => mkdirSync(p)],
    ["a file of 1 MB", (p: string) => writeFileSync(p, "1".repeat(1_000_000))],
  ] as const) {
    it(`a lock that is ${what}: one clear line, no hang, nothing pruned`, () => {
      const { db, root } = setup();
      const before = kernelFolders(root).length;
      plant(join(root, ".mcm-lock"));
      const r = mcm(["prune", "--full", "-y", "--cache-dir", root], { db, env: FAST, spawn: NO_HANG });
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /^mcm: .*\.mcm-lock is not a lock mcm wrote/m);
      assert.doesNotMatch(r.stderr, /unexpected/);
      assert.equal(kernelFolders(root).length, before);
    });
  }

  it("--cache-dir naming a parent takes the locks of the caches inside it", () => {
    const db = dbIn(tempDir());
    const parent = tempDir();
    const a = extractFixture("triton-cache", join(parent));
    renameSync(a, join(parent, "cacheA"));
    const cacheA = join(parent, "cacheA");
    assert.equal(mcm(["index", "--cache-dir", cacheA], { db }).code, 0);
    const before = kernelFolders(cacheA).length;
    writeFileSync(join(cacheA, ".mcm-lock"), String(process.pid)); // a live mcm is changing cacheA
    const r = mcm(["prune", "--full", "-y", "--cache-dir", parent], { db, env: FAST, spawn: NO_HANG });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /another mcm process .* is changing .*cacheA/);
    assert.equal(kernelFolders(cacheA).length, before, "kernels were removed from a locked cache");
    // the same with a database that never indexed cacheA (the parent is then a root of its own)
    const other = dbIn(tempDir());
    const r2 = mcm(["prune", "--full", "-y", "--cache-dir", parent], { db: other, env: FAST, spawn: NO_HANG });
    assert.ok(r2.code === 0 || /is changing .*cacheA/.test(r2.stderr), r2.stderr);
    assert.equal(kernelFolders(cacheA).length, before);
  });

  it("folders nobody may enter inside a pruned kernel: the kernel goes, the trash is still emptied, later prunes work", () => {
    const { db, root } = setup();
    const k = kernelFolders(root)[0] as string;
    mkdirSync(join(root, k, "locked", "inner"), { recursive: true });
    writeFileSync(join(root, k, "locked", "inner", "f"), "x");
    // the kernel's own entry must be opened to move (its ".." changes); the one inside it only when the trash is emptied
    chmodSync(join(root, k, "locked", "inner"), 0);
    chmodSync(join(root, k, "locked"), 0);
    setAge(root, 3_600_000);
    const opts = { db, obeyPermissions: true, spawn: NO_HANG };
    const r = mcm(["prune", "--full", "-y", "--grace", "0", "--cache-dir", root], opts);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(
      readdirSync(root).filter((f) => f.startsWith(".mcm-trash")),
      [],
      "the trash is left behind",
    );
    assert.equal(kernelFolders(root).includes(k), false, `${k} was not pruned: ${r.stderr}`);
    const again = mcm(["prune", "--full", "-y", "--cache-dir", root], opts);
    assert.equal(again.code, 0, again.stderr);
  });
});
