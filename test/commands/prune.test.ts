import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import {
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import Database from "better-sqlite3";
import { dbIn, mcm } from "../helpers/cli.js";
import { cleanupTemp, extractFixture, FIXTURE_AGE_MS, setAge, tempDir } from "../helpers/fixtures.js";
import { base32Key } from "../helpers/synthetic.js";
import { kernelFolders, snapshot } from "../helpers/tree.js";

after(cleanupTemp);

interface Plan {
  mode: string;
  kernels: number;
  files: number;
  bytes: number;
  applied: boolean;
  entries: {
    hash: string;
    path: string;
    root: string;
    action: string;
    bytes: number;
    reason: string;
    files: string[];
    links?: { file: string; target: string }[];
  }[];
  skipped: { hash: string; root: string; reason: string }[];
  freed: { kernels: number; files: number; bytes: number } | null;
  warnings: { path: string; message: string }[];
}

function setup(fixture: "triton-cache" | "torchinductor_root" | "vllm-cache" = "triton-cache") {
  const db = dbIn(tempDir());
  const root = extractFixture(fixture);
  assert.equal(mcm(["index", "--cache-dir", root], { db }).code, 0);
  return { db, root };
}

/** prune --json: exit 0, with a plan or with an empty one */
function prune(db: string, ...args: string[]): Plan {
  const r = mcm(["prune", ...args, "--json"], { db });
  assert.equal(r.code, 0, r.stderr);
  const plan = JSON.parse(r.stdout) as Plan;
  if (plan.entries.length === 0) assert.match(r.stderr, /^nothing to prune$/m);
  return plan;
}

const exts = (dir: string) =>
  readdirSync(dir)
    .map((f) => f.slice(f.lastIndexOf(".") + 1))
    .sort();

describe("mcm prune: IR-only (default)", () => {
  it("removes .source .ttir .ttgir .llir and nothing Triton needs; the index follows", () => {
    const { db, root } = setup();
    const stats = JSON.parse(mcm(["stats", "--json"], { db }).stdout);
    const p = prune(db, "-y");
    assert.equal(p.mode, "ir-only");
    assert.equal(p.applied, true);
    assert.equal(p.kernels, 14);
    assert.equal(p.files, 56);
    assert.equal(p.bytes, stats.reclaimable.irOnly);
    assert.deepEqual(p.freed, { kernels: 14, files: 56, bytes: p.bytes });
    for (const k of kernelFolders(root)) assert.deepEqual(exts(join(root, k)), ["cubin", "json", "json", "ptx"]);
    assert.equal(readdirSync(root).length, 20, "non-kernel entries untouched");
    const list = JSON.parse(mcm(["list", "--json"], { db }).stdout) as { fileCount: number }[];
    assert.ok(list.every((k) => k.fileCount === 4));
  });

  it("--asm takes the assembly too; the original's example --older-than 90d works as written", () => {
    const { db, root } = setup();
    const [old] = kernelFolders(root) as [string];
    setAge(join(root, old), 100 * 86400_000);
    assert.equal(mcm(["index", "--cache-dir", root], { db: dbIn(tempDir()) }).code, 0);
    const fresh = dbIn(tempDir());
    mcm(["index", "--cache-dir", root], { db: fresh });
    const listed = JSON.parse(mcm(["list", "--older-than", "90d", "--json"], { db: fresh }).stdout) as {
      hash: string;
    }[];
    const p = prune(fresh, "--older-than", "90d", "--asm", "-y");
    assert.deepEqual(
      p.entries.map((e) => e.hash),
      listed.map((k) => k.hash),
    );
    assert.deepEqual(
      p.entries.map((e) => e.hash),
      [old],
    );
    assert.deepEqual(exts(join(root, old)), ["cubin", "json", "json"]);
    assert.equal(readdirSync(join(root, kernelFolders(root).find((k) => k !== old) as string)).length, 8);
    void db;
  });
});

describe("mcm prune --full", () => {
  it("the original's example: --name X --full -y removes those kernels whole, and their records", () => {
    const { db, root } = setup();
    const before = kernelFolders(root).length;
    const r = mcm(["prune", "--name", "add_kernel", "--full", "-y"], { db });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Plan \(full\): remove 6 kernels \(48 files\), freeing/);
    assert.match(r.stdout, /Removed 48 files in 6 kernels: [\d.]+ KiB freed\./);
    assert.equal(kernelFolders(root).length, before - 6);
    assert.ok(!existsSync(join(root, ".mcm-trash")), "the trash is emptied");
    assert.ok(!existsSync(join(root, ".mcm-lock")), "the lock is released");
    const left = JSON.parse(mcm(["list", "--json"], { db }).stdout) as { name: string }[];
    assert.equal(left.length, 8);
    assert.ok(!left.some((k) => k.name === "add_kernel"));
  });

  it("--name is the exact name: --name kernel removes nothing of the sample cache", () => {
    const { db, root } = setup();
    const before = snapshot(root);
    for (const name of ["kernel", "add", "softmax", "ADD_KERNEL", "add_kernel_"]) {
      const r = mcm(["prune", "--name", name, "--full", "-y"], { db });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, "", name);
      assert.equal(r.stderr, "nothing to prune\n", name);
    }
    assert.deepEqual(snapshot(root), before);
    assert.equal(kernelFolders(root).length, 14);
  });

  it("--name with * or ? is a glob: the kernels it names go, the others stay", () => {
    const { db, root } = setup();
    const names = (p: Plan) => [
      ...new Set(p.entries.map((e) => readdirSync(e.path).find((f) => f.endsWith(".cubin")))),
    ];
    assert.deepEqual(names(prune(db, "--name", "softmax_kerne?", "--full", "--dry-run")), ["softmax_kernel.cubin"]);
    assert.equal(prune(db, "--name", "softmax_kerne?", "--full", "--dry-run").kernels, 2);
    assert.equal(prune(db, "--name", "*_kernel", "--full", "--dry-run").kernels, 14);
    assert.equal(prune(db, "--name", "?dd_kernel", "--full", "--dry-run").kernels, 6);
    const p = prune(db, "--name", "matmul_*", "--full", "-y");
    assert.equal(p.kernels, 6);
    const left = JSON.parse(mcm(["list", "--json"], { db }).stdout) as { name: string }[];
    assert.deepEqual([...new Set(left.map((k) => k.name))].sort(), ["add_kernel", "softmax_kernel"]);
    assert.equal(kernelFolders(root).length, 8);
  });

  it("works the same on Inductor and vLLM layouts", () => {
    for (const fx of ["torchinductor_root", "vllm-cache"] as const) {
      const { db } = setup(fx);
      const p = prune(db, "--name", "triton_poi_*", "--full", "-y");
      assert.ok(p.kernels > 10, fx);
      const left = JSON.parse(mcm(["list", "--json"], { db }).stdout) as unknown[];
      assert.equal(left.length, 55 - p.kernels, fx);
    }
  });
});

describe("mcm prune --deduplicate", () => {
  it("different specialisations of one kernel are not duplicates: nothing to prune, exit 0", () => {
    const { db, root } = setup();
    const before = snapshot(root);
    const r = mcm(["prune", "--deduplicate", "-y"], { db });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, "nothing to prune\n");
    assert.deepEqual(snapshot(root), before);
  });

  it("a copied kernel folder is; the newest copy is kept", () => {
    const { db, root } = setup();
    const [orig] = kernelFolders(root) as [string];
    const copy = base32Key(500);
    cpSync(join(root, orig), join(root, copy), { recursive: true });
    setAge(join(root, copy), 0);
    setAge(join(root, orig), 86400_000);
    const p = prune(db, "--deduplicate", "-y");
    assert.deepEqual(
      p.entries.map((e) => [e.hash, e.action]),
      [[orig, "remove-kernel"]],
    );
    assert.match(p.entries[0]?.reason as string, new RegExp(`same binary and metadata as ${copy}`));
    assert.ok(!existsSync(join(root, orig)) && existsSync(join(root, copy)));
  });

  it("a kernel compiled again under another key is one (metadata identical apart from hash); another specialisation is not", () => {
    const { db, root } = setup();
    const orig = kernelFolders(root).find((k) => readdirSync(join(root, k)).includes("add_kernel.json")) as string;
    const rekeyed = base32Key(502);
    const other = base32Key(503);
    const meta = JSON.parse(readFileSync(join(root, orig, "add_kernel.json"), "utf8"));
    for (const [key, change] of [
      [rekeyed, { hash: "f".repeat(64) }],
      [other, { hash: "e".repeat(64), num_warps: meta.num_warps * 2 }],
    ] as const) {
      cpSync(join(root, orig), join(root, key), { recursive: true });
      writeFileSync(join(root, key, "add_kernel.json"), JSON.stringify({ ...meta, ...change }));
      setAge(join(root, key), 0);
    }
    setAge(join(root, orig), 86400_000);
    const p = prune(db, "--deduplicate", "--dry-run");
    assert.deepEqual(
      p.entries.map((e) => [e.hash, e.action]),
      [[orig, "remove-kernel"]],
    );
    assert.match(p.entries[0]?.reason as string, new RegExp(`same binary and metadata as ${rekeyed}`));
  });

  it("--link replaces identical files by hard links: every key keeps its folder, the space is saved", () => {
    const { db, root } = setup();
    const [orig] = kernelFolders(root) as [string];
    const copy = base32Key(501);
    cpSync(join(root, orig), join(root, copy), { recursive: true });
    const p = prune(db, "--deduplicate", "--link", "-y");
    assert.equal(p.entries.length, 1);
    assert.equal(p.entries[0]?.action, "link-files");
    assert.equal(p.files, 8);
    assert.ok(p.bytes > 0 && p.freed?.bytes === p.bytes);
    const dup = p.entries[0]?.hash as string;
    const keep = dup === orig ? copy : orig;
    for (const f of readdirSync(join(root, dup))) {
      assert.equal(statSync(join(root, dup, f)).ino, statSync(join(root, keep, f)).ino, f);
    }
    assert.equal(prune(db, "--deduplicate", "--link", "-y").entries.length, 0, "linked files are not linked again");
  });

  it("vLLM: tensor-parallel rank folders are true duplicates; --link saves their space", () => {
    const { db, root } = setup("vllm-cache");
    const hash = join(root, "torch_compile_cache", "0a1b2c3d4e");
    cpSync(join(hash, "rank_0_0"), join(hash, "rank_1_0"), { recursive: true });
    const p = prune(db, "--deduplicate", "--link", "-y");
    assert.equal(p.kernels, 55);
    const list = JSON.parse(mcm(["list", "--json"], { db }).stdout) as { rank: string }[];
    assert.equal(list.length, 110, "every key still has its kernel");
  });
});

describe("mcm prune --deduplicate with two cache roots (the same cache extracted twice)", () => {
  function twoRoots() {
    const db = dbIn(tempDir());
    const a = extractFixture("triton-cache");
    const b = extractFixture("triton-cache");
    for (const r of [a, b]) assert.equal(mcm(["index", "--cache-dir", r], { db }).code, 0);
    return { db, a, b };
  }

  it("without --link each root is its own working set: nothing to prune, exit 0, nothing removed", () => {
    const { db, a, b } = twoRoots();
    const before = [snapshot(a), snapshot(b)];
    const dry = prune(db, "--deduplicate", "--dry-run");
    assert.equal(dry.kernels, 0);
    assert.deepEqual(dry.entries, []);
    const r = mcm(["prune", "--deduplicate", "-y"], { db });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, "nothing to prune\n");
    assert.deepEqual([snapshot(a), snapshot(b)], before);
    assert.equal(kernelFolders(a).length, 14);
    assert.equal(kernelFolders(b).length, 14);
  });

  it("within one root a copied folder is still removed; the other root is left alone", () => {
    const { db, a, b } = twoRoots();
    const [orig] = kernelFolders(b) as [string];
    const copy = base32Key(600);
    cpSync(join(b, orig), join(b, copy), { recursive: true });
    setAge(join(b, copy), 0);
    setAge(join(b, orig), 86400_000);
    const beforeA = snapshot(a);
    const p = prune(db, "--deduplicate", "-y");
    assert.deepEqual(
      p.entries.map((e) => [e.root, e.hash, e.action]),
      [[b, orig, "remove-kernel"]],
    );
    assert.match(
      p.entries[0]?.reason as string,
      new RegExp(`same binary and metadata as ${copy} \\(${join(b, copy)}\\)`),
    );
    assert.ok(!existsSync(join(b, orig)) && existsSync(join(b, copy)));
    assert.deepEqual(snapshot(a), beforeA);
  });

  it("--link links across the roots; every kernel of both roots keeps its folder; the plan names each root", () => {
    const { db, a, b } = twoRoots();
    const text = mcm(["prune", "--deduplicate", "--link", "--dry-run"], { db });
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /^ACTION\s+HASH\s+NAME\s+ROOT\s+FILES\s+SIZE\s+REASON$/m);
    const rows = text.stdout.split("\n").filter((l) => l.startsWith("link-files"));
    assert.equal(rows.length, 14);
    for (const l of rows) assert.ok(l.includes(` ${a} `) || l.includes(` ${b} `), l);
    const p = prune(db, "--deduplicate", "--link", "-y");
    assert.equal(p.kernels, 14);
    assert.equal(p.files, 14 * 8);
    assert.ok(p.entries.every((e) => e.action === "link-files"));
    const linked = p.entries[0]?.root as string;
    const kept = linked === a ? b : a;
    for (const e of p.entries) {
      assert.equal(e.root, linked, "the copies of one root link to the kept copies in the other");
      assert.ok(e.path.startsWith(`${e.root}/`));
      for (const l of e.links ?? []) assert.ok(l.target.startsWith(`${kept}/`), l.target);
    }
    assert.deepEqual(kernelFolders(a), kernelFolders(b));
    assert.equal(kernelFolders(a).length, 14);
    for (const k of kernelFolders(a)) {
      assert.equal(readdirSync(join(a, k)).length, 8);
      for (const f of readdirSync(join(a, k))) assert.equal(statSync(join(a, k, f)).ino, statSync(join(b, k, f)).ino);
    }
    const list = JSON.parse(mcm(["list", "--json"], { db }).stdout) as { cacheDir: string }[];
    assert.equal(list.filter((k) => k.cacheDir === a).length, 14);
    assert.equal(list.filter((k) => k.cacheDir === b).length, 14);
    assert.equal(prune(db, "--deduplicate", "--link", "-y").kernels, 0, "nothing left to link");
  });

  it("one root: the table has no ROOT column", () => {
    const { db } = setup();
    const r = mcm(["prune", "--full", "--dry-run"], { db });
    assert.match(r.stdout, /^ACTION\s+HASH\s+NAME\s+FILES\s+SIZE\s+REASON$/m);
    assert.ok(prune(db, "--full", "--dry-run").entries.every((e) => typeof e.root === "string"));
  });
});

describe("mcm prune --max-size", () => {
  it("evicts least recently used kernels (last hit first, else mtime) until the cache fits", () => {
    const { db, root } = setup();
    const sql = new Database(db);
    sql.prepare("UPDATE kernels SET last_access = ? WHERE name = 'matmul_kernel'").run(Date.now());
    sql.close();
    const total = (JSON.parse(mcm(["stats", "--json"], { db }).stdout) as { bytes: number }).bytes;
    const p = prune(db, "--max-size", String(total - 1000), "-y");
    assert.equal(p.mode, "max-size");
    assert.ok(p.kernels >= 1);
    assert.ok(!p.entries.some((e) => e.path.includes("matmul")));
    const after = (JSON.parse(mcm(["stats", "--json"], { db }).stdout) as { bytes: number }).bytes;
    assert.ok(after <= total - 1000);
    const touch = new Database(db);
    touch.prepare("UPDATE kernels SET last_access = ?").run(Date.now());
    touch.close();
    const all = prune(db, "--max-size", "0", "--keep-recent", "1h", "--dry-run");
    assert.equal(all.kernels, 0, "everything was used within the hour");
    assert.equal(all.skipped.length, 14 - p.kernels);
    assert.equal(kernelFolders(root).length, 14 - p.kernels);
  });

  it("an invalid size is one clear error", () => {
    const { db } = setup();
    const r = mcm(["prune", "--max-size", "lots", "--dry-run"], { db });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^mcm: invalid size 'lots'/);
  });
});

describe("prune --grace", () => {
  it("takes a duration (500ms, 2s, 0); anything else is one clear error, before anything is touched", () => {
    const { db, root } = setup();
    const before = snapshot(root);
    const r = mcm(["prune", "--full", "--grace", "soon", "-y"], { db });
    assert.equal(r.code, 2);
    assert.equal(r.stderr.trim().split("\n").length, 1);
    assert.match(r.stderr, /^mcm: invalid duration 'soon'/);
    assert.deepEqual(snapshot(root), before);
    assert.equal(prune(db, "--name", "softmax_kernel", "--full", "--grace", "500ms", "-y").freed?.kernels, 2);
    assert.equal(prune(db, "--name", "add_kernel", "--full", "--grace", "0", "-y").freed?.kernels, 6);
    assert.match(mcm(["prune", "--help"], { db }).stdout, /--grace <duration>/);
  });
});

describe("plan, dry run, confirmation", () => {
  it("--dry-run prints the plan and changes nothing", () => {
    const { db, root } = setup();
    const before = snapshot(root);
    const r = mcm(["prune", "--full", "--dry-run"], { db });
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^ACTION\s+HASH\s+NAME\s+FILES\s+SIZE\s+REASON$/m);
    assert.match(r.stdout, /Plan \(full\): remove 14 kernels \(112 files\)/);
    assert.match(r.stdout, /Dry run: nothing was changed\./);
    assert.deepEqual(snapshot(root), before);
  });

  it("without a terminal and without --yes or --dry-run: one line, exit 2, nothing changed", () => {
    const { db, root } = setup();
    const before = snapshot(root);
    const r = mcm(["prune", "--full"], { db, spawn: { stdio: ["ignore", "pipe", "pipe"] } });
    assert.equal(r.code, 2);
    assert.equal(
      r.stderr,
      "mcm: refusing to prune without a terminal to confirm: pass --yes to apply the plan, or --dry-run to see it\n",
    );
    assert.deepEqual(snapshot(root), before);
  });

  it("on a terminal it asks Proceed? [y/N]: 'n' aborts, 'y' applies exactly the plan", () => {
    const { db, root } = setup();
    const before = snapshot(root);
    const bin = new URL("../../bin/mcm", import.meta.url).pathname;
    const ask = (answer: string) =>
      spawnSync("script", ["-qec", `${process.execPath} ${bin} prune --name softmax_kernel --full`, "/dev/null"], {
        input: `${answer}\n`,
        encoding: "utf8",
        env: { ...process.env, MCM_DB: db, NO_COLOR: "1" },
      });
    const no = ask("n");
    assert.match(no.stdout, /Proceed\? \[y\/N\]/);
    assert.match(no.stdout, /Aborted: nothing was changed\./);
    assert.equal(no.status, 1);
    assert.deepEqual(snapshot(root), before);
    const yes = ask("y");
    assert.equal(yes.status, 0, yes.stdout);
    assert.match(yes.stdout, /Removed 16 files in 2 kernels/);
    assert.equal(kernelFolders(root).length, 12);
  });
});

describe("nothing to do is success", () => {
  it("an empty plan exits 0: with --yes, --dry-run, --json, and on a terminal without asking", () => {
    const { db, root } = setup();
    setAge(root, 0);
    mcm(["index", "--cache-dir", root], { db });
    const before = snapshot(root);
    for (const args of [["-y"], ["--dry-run"], ["-y", "--json"], ["--dry-run", "--json"]]) {
      const r = mcm(["prune", "--older-than", "90d", ...args], { db, spawn: { stdio: ["ignore", "pipe", "pipe"] } });
      assert.equal(r.code, 0, `${args.join(" ")}: ${r.stderr}`);
      assert.equal(r.stderr, "nothing to prune\n", args.join(" "));
      if (args.includes("--json")) {
        const p = JSON.parse(r.stdout) as Plan;
        assert.deepEqual([p.kernels, p.entries, p.applied], [0, [], false]);
      } else assert.equal(r.stdout, "");
    }
    const bin = new URL("../../bin/mcm", import.meta.url).pathname;
    const tty = spawnSync("script", ["-qec", `${process.execPath} ${bin} prune --older-than 90d`, "/dev/null"], {
      input: "n\n",
      encoding: "utf8",
      env: { ...process.env, MCM_DB: db, NO_COLOR: "1" },
    });
    assert.equal(tty.status, 0, tty.stdout);
    assert.doesNotMatch(tty.stdout, /Proceed\?/);
    assert.match(tty.stdout, /nothing to prune/);
    // under set -e, a quiet night and then a night with work to do
    const night = spawnSync("sh", ["-ec", `${process.execPath} ${bin} prune --older-than 90d -y; echo survived`], {
      encoding: "utf8",
      env: { ...process.env, MCM_DB: db },
    });
    assert.equal(night.status, 0, night.stderr);
    assert.equal(night.stdout, "survived\n");
    assert.deepEqual(snapshot(root), before);
    const [old] = kernelFolders(root) as [string];
    setAge(join(root, old), 100 * 86400_000);
    const p = prune(db, "--older-than", "90d", "-y");
    assert.deepEqual(
      p.entries.map((e) => e.hash),
      [old],
    );
  });
});

describe("safety", () => {
  it("an interrupted prune (SIGKILL at any moment) never leaves metadata and group without a binary", async () => {
    const { db, root } = setup();
    const [template] = kernelFolders(root) as [string];
    for (let i = 0; i < 600; i++) cpSync(join(root, template), join(root, base32Key(1000 + i)), { recursive: true });
    mcm(["index", "--cache-dir", root], { db });
    const { spawn } = await import("node:child_process");
    const bin = new URL("../../bin/mcm", import.meta.url).pathname;
    for (const delay of [150, 250, 400]) {
      const child = spawn(process.execPath, [bin, "prune", "--full", "-y", "--cache-dir", root], {
        env: { ...process.env, MCM_DB: db },
        stdio: "ignore",
      });
      await new Promise((r) => setTimeout(r, delay));
      child.kill("SIGKILL");
      await new Promise((r) => child.on("exit", r));
      for (const k of readdirSync(root)) {
        if (k.startsWith(".mcm")) continue;
        const files = readdirSync(join(root, k));
        if (files.some((f) => f.startsWith("__grp__"))) {
          assert.ok(
            files.some((f) => f.endsWith(".cubin")),
            `${k} lost its binary but kept its group file`,
          );
        }
      }
      if (kernelFolders(root).length === 0) break;
      // refill so the next kill has work to interrupt
      for (let i = 0; i < 300; i++) {
        const dst = join(root, base32Key(5000 + delay * 1000 + i));
        if (!existsSync(dst)) cpSync(join(root, kernelFolders(root)[0] as string), dst, { recursive: true });
      }
    }
    const r = mcm(["prune", "--name", "nothing-matches-this", "--full", "-y"], { db });
    assert.equal(r.code, 0, r.stderr);
    assert.ok(!existsSync(join(root, ".mcm-trash")), "the next run empties what a killed run left in the trash");
    assert.ok(!existsSync(join(root, ".mcm-lock")), "a dead process's lock is taken over");
  });

  it("nothing outside the cache root is read for deletion or deleted", () => {
    const { db, root } = setup();
    const outside = tempDir();
    const victim = join(outside, "precious.ttir");
    writeFileSync(victim, "do not delete");
    const [k1, k2] = kernelFolders(root) as [string, string];
    // a symlink named like IR, a group file pointing outside, a kernel folder that is a link out
    symlinkSync(victim, join(root, k1, "add_kernel.ttir.link.ttir"));
    const grp = readdirSync(join(root, k2)).find((f) => f.startsWith("__grp__")) as string;
    writeFileSync(join(root, k2, grp), JSON.stringify({ child_paths: { "x.ttir": victim } }));
    mkdirSync(join(outside, "EVIL"));
    cpSync(join(root, k1), join(outside, "EVIL", "k"), { recursive: true });
    symlinkSync(join(outside, "EVIL", "k"), join(root, base32Key(77)));
    // planted an hour ago: not mistaken for a compile in flight
    for (const k of [k1, k2]) setAge(join(root, k), FIXTURE_AGE_MS);
    const before = snapshot(outside);
    assert.equal(mcm(["prune", "-y"], { db }).code, 0);
    assert.equal(mcm(["prune", "--full", "-y"], { db }).code, 0);
    assert.deepEqual(snapshot(outside), before);
    assert.equal(kernelFolders(root).length, 0);
  });

  it("a kernel with a live writer is skipped and reported; a dead writer's leftovers are not protected", () => {
    const { db, root } = setup();
    const [live, dead] = kernelFolders(root) as [string, string];
    mkdirSync(join(root, live, `tmp.pid_${process.pid}_1234abcd`));
    mkdirSync(join(root, dead, "tmp.pid_999999_1234abcd"));
    setAge(join(root, dead, "tmp.pid_999999_1234abcd"), FIXTURE_AGE_MS); // left by a writer that died an hour ago
    const p = prune(db, "--full", "-y");
    assert.equal(p.kernels, 13);
    assert.deepEqual(
      p.skipped.map((s) => [s.hash, s.reason]),
      [[live, `a Triton process (pid ${process.pid}) is writing this kernel`]],
    );
    assert.deepEqual(kernelFolders(root), [live]);
  });

  it("a lock left by a process that has died is taken over at once", () => {
    const { db, root } = setup();
    const dead = spawnSync("true").pid as number;
    writeFileSync(join(root, ".mcm-lock"), String(dead));
    const r = mcm(["prune", "--full", "-y"], { db, env: { MCM_LOCK_TIMEOUT_MS: "2000" } });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(kernelFolders(root).length, 0);
    assert.ok(!existsSync(join(root, ".mcm-lock")), "released after the run");
  });

  it("a kernel written a moment ago may be a compile in flight: it is kept, and says why", () => {
    const { db, root } = setup();
    const fresh = base32Key(600);
    cpSync(join(root, kernelFolders(root)[0] as string), join(root, fresh), { recursive: true });
    setAge(join(root, fresh), 0);
    const p = prune(db, "--full", "-y");
    assert.equal(p.kernels, 14);
    assert.deepEqual(
      p.skipped.map((s) => [s.hash, s.reason]),
      [[fresh, "written in the last 60 s: a compile may still be writing it"]],
    );
    assert.deepEqual(kernelFolders(root), [fresh]);
  });

  it("two processes on one root: the second waits briefly, then fails with a clear message", () => {
    const { db, root } = setup();
    writeFileSync(join(root, ".mcm-lock"), String(process.pid));
    const r = mcm(["prune", "--full", "-y"], { db, env: { MCM_LOCK_TIMEOUT_MS: "300" } });
    assert.equal(r.code, 2);
    assert.equal(
      r.stderr,
      `mcm: another mcm process (pid ${process.pid}) is changing ${root}; try again when it has finished\n`,
    );
    assert.equal(kernelFolders(root).length, 14);
  });

  it("non-kernel entries are left alone", () => {
    const { db, root } = setup();
    assert.equal(mcm(["prune", "--full", "-y"], { db }).code, 0);
    assert.deepEqual(readdirSync(root).sort().length, 6, "3 launchers, 1 utils, 2 autotune entries remain");
  });
});
