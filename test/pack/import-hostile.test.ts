// import from archives made by someone else, into a folder others write in:
// links that escape by way of other links, entries and archives that never
// end or expand without bound, a destination swapped for a link between plan
// and write, an import killed half-way. Nothing lands outside the destination,
// no read is unbounded, nothing is left behind.
import assert from "node:assert/strict";
import { execFileSync, spawn, spawnSync } from "node:child_process";
import {
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  realpathSync,
  renameSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { dbIn, mcm, outputOf } from "../helpers/cli.js";
import { failpointEnv, reached, release } from "../helpers/failpoints.js";
import { cleanupTemp, extractFixture, tempDir } from "../helpers/fixtures.js";
import { writeRawTarGz, writeZeroBombTarGz } from "../helpers/tar.js";

after(cleanupTemp);

const BIN = new URL("../../bin/mcm", import.meta.url).pathname;
const NO_HANG = { timeout: 120_000 };
const KEY = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567ABCDEFGHIJKLMNOPQRST";

/** A plain tarball of a real fixture, its cache folder at the top. */
function fixtureTarball(name: "triton-cache" | "torchinductor_root"): string {
  const dir = extractFixture(name);
  const out = join(tempDir(), `${name}.tar.gz`);
  execFileSync("tar", ["czf", out, "-C", dir, "."]);
  return out;
}

/** Every link under `dir`, with where it leads (null: nowhere yet). */
function linksUnder(dir: string): { link: string; to: string | null }[] {
  const out: { link: string; to: string | null }[] = [];
  const walk = (d: string) => {
    for (const n of readdirSync(d)) {
      const p = join(d, n);
      const st = lstatSync(p);
      if (st.isSymbolicLink()) {
        let to: string | null = null;
        try {
          to = realpathSync(p);
        } catch {}
        out.push({ link: p, to });
      } else if (st.isDirectory()) walk(p);
    }
  };
  walk(dir);
  return out;
}

const importInto = (db: string, archive: string, dest: string, ...more: string[]) =>
  mcm(["import", archive, "--cache-dir", dest, ...more], { db, spawn: NO_HANG });

describe("import of hostile archives", () => {
  it("a link that escapes by way of another link in the archive is refused", () => {
    const archive = writeRawTarGz(join(tempDir(), "escape.tar.gz"), [
      { name: `${KEY}/`, flag: "5" },
      { name: `${KEY}/__grp__k.json`, data: "{}" },
      { name: `${KEY}/sub/`, flag: "5" },
      { name: `${KEY}/sub/l`, flag: "2", linkname: ".." },
      { name: `${KEY}/K`, flag: "2", linkname: "sub/l/../../outside" },
    ]);
    const parent = tempDir();
    const dest = join(parent, "cache");
    mkdirSync(join(parent, "outside"));
    const r = importInto(dbIn(tempDir()), archive, dest);
    assert.doesNotMatch(r.stderr, /unexpected/);
    for (const l of linksUnder(dest)) {
      assert.ok(l.to === null || l.to === dest || l.to.startsWith(`${dest}/`), `${l.link} leads to ${l.to}`);
    }
    assert.ok(!existsSync(join(dest, KEY, "K")), "the escaping link was imported");
  });

  it("a link through a link the destination already holds is refused", () => {
    const dest = tempDir();
    const outside = tempDir();
    symlinkSync(outside, join(dest, "planted"));
    const archive = writeRawTarGz(join(tempDir(), "via-dest.tar.gz"), [
      { name: `${KEY}/__grp__k.json`, data: "{}" },
      { name: `${KEY}/K`, flag: "2", linkname: "../planted/x" },
    ]);
    importInto(dbIn(tempDir()), archive, dest);
    assert.equal(
      lstatSync(join(dest, KEY, "K"), { throwIfNoEntry: false }),
      undefined,
      "a link through planted/ was made",
    );
  });

  it("a link with an empty target: refused in one line, the rest imported", () => {
    const good = "B".repeat(52);
    const archive = writeRawTarGz(join(tempDir(), "empty-link.tar.gz"), [
      { name: `${good}/__grp__k.json`, data: "{}" },
      { name: `${KEY}/__grp__k.json`, data: "{}" },
      { name: `${KEY}/K`, flag: "2", linkname: "" },
    ]);
    const dest = tempDir();
    const r = importInto(dbIn(tempDir()), archive, dest, "-v");
    assert.equal(r.code, 2, r.stderr); // as for every refused entry: the rest imported, exit 2
    assert.doesNotMatch(r.stderr, /unexpected/);
    assert.match(r.stdout + r.stderr, /empty target/);
    assert.ok(existsSync(join(dest, good)) && !existsSync(join(dest, KEY)));
  });

  it("a group file entry of 64 MiB of zeros is refused at its header, unread", async () => {
    const archive = await writeZeroBombTarGz(join(tempDir(), "grp.tar.gz"), `${KEY}/__grp__k.json`, 64 << 20);
    const dest = tempDir();
    const r = importInto(dbIn(tempDir()), archive, dest);
    assert.doesNotMatch(r.stderr, /unexpected/);
    assert.ok(!existsSync(join(dest, KEY)), "the kernel of a refused group file is left out");
  });

  it("a plain tarball that expands past the cap (a bomb) is refused before its content is written", async () => {
    const archive = await writeZeroBombTarGz(join(tempDir(), "bomb.tar.gz"), `${KEY}/k.cubin`, (1 << 30) + (64 << 20));
    const dest = tempDir();
    const r = importInto(dbIn(tempDir()), archive, dest);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /^mcm: .*holds more than 1 GiB .*--max-size/m);
    assert.deepEqual(readdirSync(dest), [], "nothing is written, no staging folder is left");
    // and --max-size lowers the cap
    const small = await writeZeroBombTarGz(join(tempDir(), "small.tar.gz"), `${KEY}/k.cubin`, 3 << 20);
    assert.equal(importInto(dbIn(tempDir()), small, tempDir(), "--max-size", "2Mi").code, 2);
  });

  for (const [what, make] of [
    ["/dev/zero", () => "/dev/zero"],
    [
      "a FIFO",
      () => {
        const p = join(tempDir(), "a.tar.gz");
        assert.equal(spawnSync("mkfifo", [p]).status, 0);
        return p;
      },
    ],
    [
      "an empty file",
      () => {
        const p = join(tempDir(), "empty.tar.gz");
        writeFileSync(p, "");
        return p;
      },
    ],
  ] as const) {
    it(`an archive that is ${what}: one line, exit 2, nothing read or written`, () => {
      const dest = join(tempDir(), "cache");
      const r = importInto(dbIn(tempDir()), make(), dest);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /^mcm: .*(not a regular file|empty)/m);
      assert.ok(!existsSync(dest));
    });
  }
});

describe("import into a destination others write in", () => {
  it("a destination folder swapped for a link between plan and write: nothing lands outside", async () => {
    const archive = fixtureTarball("torchinductor_root");
    const dest = tempDir();
    const outside = tempDir();
    mkdirSync(join(dest, "triton", "0"), { recursive: true });
    mkdirSync(join(outside, "0"));
    const fp = tempDir();
    const child = spawn(process.execPath, [BIN, "import", archive, "--cache-dir", dest], {
      env: { ...process.env, MCM_DB: dbIn(tempDir()), NO_COLOR: "1", ...failpointEnv(fp, "import.before-place") },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const done = outputOf(child);
    assert.ok(await reached(fp, "import.before-place"), "import never reached its first write");
    renameSync(join(dest, "triton"), join(tempDir(), "triton"));
    symlinkSync(outside, join(dest, "triton"));
    for (let i = 1; i <= 500; i++) release(fp, "import.before-place", i);
    const r = await done;
    assert.doesNotMatch(r.stderr, /unexpected/);
    assert.deepEqual(readdirSync(join(outside, "0")), [], "kernels were placed outside the destination");
  });

  it("a staging folder left by a killed import is shown by stats and removed by the next import", () => {
    const archive = fixtureTarball("triton-cache");
    const dest = tempDir();
    const db = dbIn(tempDir());
    const left = join(dest, ".mcm-import-999999-abcd1234");
    mkdirSync(join(left, "triton-cache", KEY), { recursive: true });
    writeFileSync(join(left, "triton-cache", KEY, "k.cubin"), "x".repeat(10_000));
    assert.equal(mcm(["index", "--cache-dir", dest], { db }).code, 0);
    const stats = mcm(["stats", "--cache-dir", dest], { db });
    assert.match(stats.stdout, /left by killed mcm runs: 1/);
    assert.equal(importInto(db, archive, dest).code, 0);
    assert.ok(!existsSync(left), "the dead import's staging folder is still there");
  });

  it("an import stopped by SIGTERM or SIGINT removes its staging folder", async () => {
    // big enough to be still staging when the signal comes
    const archive = await writeZeroBombTarGz(join(tempDir(), "big.tar.gz"), `${KEY}/k.cubin`, 600 << 20);
    for (const signal of ["SIGTERM", "SIGINT"] as const) {
      const dest = tempDir();
      const child = spawn(process.execPath, [BIN, "import", archive, "--cache-dir", dest], {
        env: { ...process.env, MCM_DB: dbIn(tempDir()), NO_COLOR: "1" },
        stdio: ["ignore", "pipe", "pipe"],
      });
      const done = outputOf(child);
      const staged = () => readdirSync(dest).filter((f) => f.startsWith(".mcm-import-"));
      while (staged().length === 0) await new Promise((r) => setTimeout(r, 5));
      child.kill(signal);
      const r = await done;
      assert.equal(r.code, signal === "SIGINT" ? 130 : 143, r.stderr);
      assert.deepEqual(staged(), [], `${signal} left the staging folder`);
    }
  });
});
