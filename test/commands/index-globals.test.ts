import assert from "node:assert/strict";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { dbIn, mcm, mcmJson } from "../helpers/cli.js";
import { cleanupTemp, extractFixture, tempDir } from "../helpers/fixtures.js";

after(cleanupTemp);

describe("mcm index", () => {
  it("--json summary counts added, updated, removed, unchanged", () => {
    const db = dbIn(tempDir());
    const root = extractFixture("triton-cache");
    const a = mcmJson<Record<string, number>>(["index", "--cache-dir", root], { db });
    assert.deepEqual([a.kernels, a.added, a.updated, a.removed, a.unchanged, a.warningCount], [14, 14, 0, 0, 0, 0]);
    const b = mcmJson<Record<string, number>>(["index", "--cache-dir", root], { db });
    assert.deepEqual([b.added, b.unchanged], [0, 14]);
  });

  it("the text summary, and a warning count that points at -v", () => {
    const db = dbIn(tempDir());
    const root = extractFixture("triton-cache");
    mkdirSync(join(root, "BROKEN"));
    writeFileSync(join(root, "BROKEN", "k.json"), "{");
    writeFileSync(join(root, "BROKEN", "__grp__k.json"), "{}");
    const r = mcm(["index", "--cache-dir", root], { db });
    assert.equal(r.code, 0);
    assert.match(
      r.stdout,
      new RegExp(
        `^Indexed ${root} \\(triton\\): 15 kernels, [\\d.]+ MiB \\(15 added, 0 updated, 0 removed, 0 unchanged\\) in [\\d.]+ s\\n$`,
      ),
    );
    assert.equal(r.stderr, "3 warnings (run with -v to see them)\n");
    const v = mcm(["-v", "index", "--cache-dir", root], { db });
    assert.match(v.stderr, /^warning: .*BROKEN\/k\.json: malformed JSON/m);
  });

  it("--mode forces a layout; an unknown mode is rejected", () => {
    const db = dbIn(tempDir());
    const root = extractFixture("torchinductor_root");
    const j = mcmJson<{ roots: { layout: string }[]; kernels: number }>(
      ["index", "--cache-dir", root, "--mode", "inductor"],
      { db },
    );
    assert.equal(j.roots[0]?.layout, "inductor");
    assert.equal(j.kernels, 55);
    const bad = mcm(["index", "--cache-dir", root, "--mode", "tpu"], { db });
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /argument 'tpu' is invalid/);
  });

  it("without --cache-dir: TRITON_CACHE_DIR, then TRITON_HOME; none found is exit 2", () => {
    const db = dbIn(tempDir());
    const root = extractFixture("triton-cache");
    const empty = tempDir();
    const env = {
      HOME: empty,
      XDG_CACHE_HOME: join(empty, "c"),
      TMPDIR: empty,
      VLLM_CACHE_ROOT: "",
      TORCHINDUCTOR_CACHE_DIR: "",
    };
    const a = mcmJson<{ roots: { root: string }[] }>(["index"], { db, env: { ...env, TRITON_CACHE_DIR: root } });
    assert.deepEqual(
      a.roots.map((r) => r.root),
      [root],
    );
    const home = tempDir();
    const cache = join(home, ".triton", "cache");
    mkdirSync(cache, { recursive: true });
    const b = mcmJson<{ roots: { root: string }[] }>(["index", "--mode", "triton"], {
      db,
      env: { ...env, TRITON_CACHE_DIR: "", TRITON_HOME: home },
    });
    assert.deepEqual(
      b.roots.map((r) => r.root),
      [cache],
    );
    const c = mcm(["index"], { db, env: { ...env, TRITON_CACHE_DIR: "", TRITON_HOME: "" } });
    assert.equal(c.code, 2);
    assert.match(c.stderr, /^mcm: no cache found at the default places/);
  });
});

describe("global options", () => {
  it("--db beats MCM_DB; the default honours XDG_DATA_HOME", () => {
    const dir = tempDir();
    const root = extractFixture("triton-cache");
    const explicit = join(dir, "explicit.db");
    assert.equal(mcm(["--db", explicit, "index", "--cache-dir", root], { db: join(dir, "env.db") }).code, 0);
    assert.ok(existsSync(explicit) && !existsSync(join(dir, "env.db")));
    const xdg = join(dir, "xdg");
    const r = mcm(["index", "--cache-dir", root], { db: "", env: { MCM_DB: "", XDG_DATA_HOME: xdg } });
    assert.equal(r.code, 0, r.stderr);
    assert.ok(existsSync(join(xdg, "model-cache-manager", "cache.db")));
  });

  it("--help and --version are fast paths with exit 0; unknown options exit 2", () => {
    const db = dbIn(tempDir());
    const h = mcm(["--help"], { db });
    assert.equal(h.code, 0);
    for (const c of ["index", "list", "show", "stats"]) assert.match(h.stdout, new RegExp(`^  ${c} `, "m"));
    assert.match(mcm(["list", "--help"], { db }).stdout, /--cache-hit-lower <n>/);
    assert.match(mcm(["--version"], { db }).stdout, /^\d+\.\d+\.\d+\n$/);
    const bad = mcm(["list", "--colour"], { db });
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /^mcm: error: unknown option '--colour'/);
  });

  it("-vv logs info; --no-color and NO_COLOR keep escape codes out", () => {
    const db = dbIn(tempDir());
    const root = extractFixture("triton-cache");
    const r = mcm(["-vv", "index", "--cache-dir", root], { db });
    assert.match(r.stderr, /^info: indexed .* 14 kernels/m);
    const plain = mcm(["--no-color", "list"], { db, env: { NO_COLOR: "", FORCE_COLOR: "1" } });
    assert.equal(plain.code, 0);
    // biome-ignore lint/suspicious/noControlCharactersInRegex: looking for ANSI escapes
    assert.doesNotMatch(plain.stdout, /\u001b\[/);
  });
});
