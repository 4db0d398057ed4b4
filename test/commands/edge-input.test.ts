// Input at the edges (empty flags, huge numbers, long paths, deep JSON): one
// clear error line or warning, exit code 2 for errors, never a stack trace.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { dbIn, mcm } from "../helpers/cli.js";
import { cleanupTemp, extractFixture, tempDir } from "../helpers/fixtures.js";
import { base32Key, writeKernel } from "../helpers/synthetic.js";
import { fileDigests } from "../helpers/tree.js";

after(cleanupTemp);

/** Exactly one line on stderr, no stack trace, no "unexpected error". */
function oneErrorLine(stderr: string, pattern: RegExp): void {
  assert.match(stderr, /^mcm: [^\n]*\n$/, stderr.slice(0, 500));
  assert.match(stderr, pattern);
  assert.doesNotMatch(stderr, /unexpected error|\n\s+at /);
}

describe("empty path flags", () => {
  it("--cache-dir '' is refused by every command, before anything runs; the cache in the current folder stays", () => {
    const db = dbIn(tempDir());
    const cwd = extractFixture("triton-cache");
    assert.equal(mcm(["index", "--cache-dir", cwd], { db }).code, 0);
    const before = fileDigests(cwd);
    const runs = [
      ["prune", "--full", "-y"],
      ["prune", "--deduplicate", "--link", "-y"],
      ["index"],
      ["list"],
      ["show", "ABC"],
      ["stats"],
      ["check"],
      ["explain"],
      ["relocate", "-y"],
      ["export", "-o", join(tempDir(), "x.tgz")],
      ["import", join(tempDir(), "none.tgz")],
      ["pull", "localhost:1/none:tag"],
    ];
    for (const args of runs) {
      const r = mcm([...args, "--cache-dir", ""], { db, spawn: { cwd } });
      assert.equal(r.code, 2, `${args.join(" ")}: ${r.stdout}${r.stderr}`);
      oneErrorLine(r.stderr, /^mcm: --cache-dir is empty \(an unset variable\?\)$/m);
    }
    assert.deepEqual(fileDigests(cwd), before);
  });

  it("--db '' is refused; an empty MCM_DB counts as unset (the default database)", () => {
    const dir = tempDir();
    const root = extractFixture("triton-cache");
    const r = mcm(["--db", "", "index", "--cache-dir", root], { db: join(dir, "env.db") });
    assert.equal(r.code, 2, r.stdout);
    oneErrorLine(r.stderr, /^mcm: --db is empty \(an unset variable\?\)$/m);
    assert.ok(!existsSync(join(dir, "env.db")));
    const xdg = join(dir, "xdg");
    const e = mcm(["index", "--cache-dir", root], { db: "", env: { XDG_DATA_HOME: xdg } });
    assert.equal(e.code, 0, e.stderr);
    assert.ok(existsSync(join(xdg, "model-cache-manager", "cache.db")));
    assert.match(mcm(["--help"], { db: "" }).stdout, /empty MCM_DB/);
  });

  it("other path flags refuse '' too (warm --host-cache-dir, export -o)", () => {
    const db = dbIn(tempDir());
    const cwd = tempDir();
    for (const args of [
      ["warm", "--dry-run", "--host-cache-dir", "", "--", "true"],
      ["export", "-o", ""],
    ]) {
      const r = mcm(args, { db, spawn: { cwd } });
      assert.equal(r.code, 2, r.stdout);
      oneErrorLine(r.stderr, /^mcm: --(host-cache-dir|output) is empty/m);
    }
  });
});

describe("whole-number flags", () => {
  it("a number too big to be exact is one clear error; the largest exact one works", () => {
    const db = dbIn(tempDir());
    const root = extractFixture("triton-cache");
    for (const flag of ["--limit", "--cache-hit-lower", "--cache-hit-higher"]) {
      const r = mcm(["list", "--cache-dir", root, flag, "99999999999999999999"], { db });
      assert.equal(r.code, 2, r.stdout);
      oneErrorLine(r.stderr, new RegExp(`^mcm: ${flag} 99999999999999999999 is too big \\(at most 2\\^53-1\\)`));
    }
    const bad = mcm(["list", "--cache-dir", root, "--limit", "-1"], { db });
    oneErrorLine(bad.stderr, /^mcm: --limit needs a whole number, not '-1'$/m);
    const ok = mcm(["list", "--cache-dir", root, "--limit", String(Number.MAX_SAFE_INTEGER), "--json"], { db });
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal((JSON.parse(ok.stdout) as unknown[]).length, 14);
  });
});

describe("long paths in messages", () => {
  const longPath = (dir: string) => join(dir, ...Array.from({ length: 24 }, (_, i) => `${i}`.padEnd(200, "x")));

  it("an error naming a 5 KB path is one short line, head and tail kept", () => {
    const db = dbIn(tempDir());
    const p = longPath(tempDir());
    for (const [args, env, start] of [
      [["import", p], {}, /^mcm: archive not found: \//],
      [["warm", "--dry-run", "--", "true"], { MCM_CONFIG: p }, /^mcm: cannot read config file \//],
    ] as const) {
      const r = mcm([...args], { db, env });
      assert.equal(r.code, 2);
      oneErrorLine(r.stderr, start);
      assert.ok(r.stderr.length < 700, `${r.stderr.length} characters`);
      assert.ok(r.stderr.includes("…") && r.stderr.includes(p.slice(-40)), r.stderr);
    }
  });

  it("a file whose path is too long to open is a short warning, and the index goes on", () => {
    const db = dbIn(tempDir());
    const top = tempDir();
    const root = join(top, ...Array.from({ length: 19 }, (_, i) => `${i}`.padEnd(200, "d")));
    after(() => spawnSync("rm", ["-rf", top])); // rmSync cannot remove what it cannot name
    const key = base32Key(1);
    mkdirSync(join(root, key), { recursive: true });
    const name = "k".repeat(250);
    // the folder can be entered, its files only by a relative path: together over PATH_MAX
    spawnSync("sh", ["-c", `echo '{}' > ${name}.json && echo x > ${name}.cubin`], { cwd: join(root, key) });
    const r = mcm(["-v", "index", "--cache-dir", root], { db });
    assert.equal(r.code, 0, r.stderr.slice(0, 300));
    const lines = r.stderr.trimEnd().split("\n");
    assert.ok(
      lines.some((l) => /^warning: .*ENAMETOOLONG/.test(l)),
      r.stderr.slice(0, 300),
    );
    for (const l of lines) assert.ok(l.length < 700, `${l.length} characters: ${l.slice(0, 300)}`);
  });
});

describe("counted nouns", () => {
  it("one entry is '1 entry', not '1 entries' or '1 entrys'", () => {
    const db = dbIn(tempDir());
    const root = tempDir();
    writeKernel(root, { key: base32Key(2), name: "add", exts: ["cubin"], metadata: { name: "add" } });
    const r = mcm(["-vvv", "index", "--cache-dir", root], { db });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /listed 1 entry\b/);
    assert.doesNotMatch(r.stderr, /\b1 entr(ie|y)s\b/);
  });
});

describe("deeply nested kernel metadata", () => {
  it("over the depth cap: a warning at index time; show (text and --json) works", () => {
    const db = dbIn(tempDir());
    const root = tempDir();
    const key = base32Key(3);
    const depth = 100_000;
    writeKernel(root, { key, name: "deep", exts: ["cubin"], metadata: "{}" });
    const deep = `{"name":"deep","x":${"[".repeat(depth)}${"]".repeat(depth)}}`;
    writeFileSync(join(root, key, "deep.json"), deep);
    const i = mcm(["-v", "index", "--cache-dir", root], { db });
    assert.equal(i.code, 0, i.stderr);
    assert.match(i.stderr, /deep\.json: JSON nested deeper than 64 levels: not read/);
    const t = mcm(["show", key.slice(0, 8)], { db });
    assert.equal(t.code, 0, t.stderr);
    assert.doesNotMatch(t.stderr, /unexpected error/);
    const j = mcm(["show", key.slice(0, 8), "--json"], { db });
    assert.equal(j.code, 0, j.stderr);
    assert.equal((JSON.parse(j.stdout) as { metadata: unknown }).metadata, null);
  });
});
