import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { dbIn, mcm, mcmJson } from "../helpers/cli.js";
import { cleanupTemp, extractFixture, tempDir } from "../helpers/fixtures.js";
import { writeRawTarGz } from "../helpers/tar.js";
import { samePicklesMoved, snapshot } from "../helpers/tree.js";

after(cleanupTemp);

interface Kernel {
  name: string;
  path: string;
  staleGroupPaths: boolean;
}

interface Imported {
  format: string;
  verified: boolean;
  kernels: { added: string[]; identical: string[]; conflicting: { path: string }[] };
  refused: { entry: string; reason: string }[];
  indexed: { kernels: number; staleGroupPaths: number } | null;
}

describe("mcm import", () => {
  it("imports, indexes, and list shows no stale group path; a second import skips everything", () => {
    const db = dbIn(tempDir());
    const root = extractFixture("vllm-cache");
    const archive = join(tempDir(), "v.tgz");
    mcmJson(["export", "--cache-dir", root, "-o", archive], { db });
    const dest = join(tempDir(), "vllm");
    const r = mcmJson<Imported>(["import", archive, "--cache-dir", dest], { db });
    assert.equal(r.format, "mcm");
    assert.equal(r.verified, true);
    assert.equal(r.kernels.added.length, 55);
    assert.deepEqual(r.indexed, { kernels: 55, staleGroupPaths: 0 });
    const list = mcmJson<Kernel[]>(["list", "--cache-dir", dest], { db });
    assert.equal(list.length, 55);
    assert.ok(list.every((k) => !k.staleGroupPaths));
    const again = mcm(["import", archive, "--cache-dir", dest], { db });
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /kernels: 0 added, 55 already present \(skipped\), 0 conflicting/);
    // nothing to do is success, in every form
    for (const args of [["--dry-run"], ["--json"]]) {
      const r = mcm(["import", archive, "--cache-dir", dest, ...args], { db });
      assert.equal(r.code, 0, `${args.join(" ")}: ${r.stderr}`);
    }
  });

  it("a plain tarball: imported, and said to carry no checksums", () => {
    const db = dbIn(tempDir());
    const root = extractFixture("triton-cache");
    const archive = join(tempDir(), "plain.tgz");
    execFileSync("tar", ["czf", archive, "-C", join(root, ".."), "triton-cache"]);
    const dest = join(tempDir(), "t");
    const r = mcm(["import", archive, "--cache-dir", dest], { db });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /plain tarball, triton; no manifest: no checksums to verify/);
    assert.match(r.stdout, /Indexed .*: 14 kernels, 0 with stale group paths/);
  });

  it("an Inductor cache: its autotuners' pickled paths point at the destination; a second import finds every entry present", () => {
    const db = dbIn(tempDir());
    const root = extractFixture("torchinductor_root");
    const archive = join(tempDir(), "ind.tgz");
    execFileSync("tar", ["czf", archive, "-C", join(root, ".."), "torchinductor_root"]);
    const dest = join(tempDir(), "moved-inductor");
    const r = mcmJson<Imported & { inductorEntriesRewritten: number; inductorPathsRewritten: number }>(
      ["import", archive, "--cache-dir", dest],
      { db },
    );
    assert.deepEqual([r.inductorEntriesRewritten, r.inductorPathsRewritten], [3, 55]);
    assert.equal(samePicklesMoved(root, dest), "equal 5");
    const again = mcmJson<Imported & { others: { conflicting: unknown[]; identical: number } }>(
      ["import", archive, "--cache-dir", dest],
      { db },
    );
    assert.deepEqual(again.others.conflicting, [], "rewritten entries are the archive's, relocated");
    assert.equal(again.kernels.identical.length, 55);
  });

  it("vLLM artifacts whose autotuners point outside the cache: said, with the root and how many (mcm cannot rewrite them)", () => {
    const db = dbIn(tempDir());
    const root = extractFixture("llama-binary-cache");
    const archive = join(tempDir(), "gkm.tgz");
    execFileSync("tar", ["czf", archive, "-C", join(root, ".."), "llama-binary-cache"]);
    const dest = join(tempDir(), "vllm");
    const r = mcmJson<{ notRewritable: { root: string; artifacts: number }[] }>(
      ["import", archive, "--cache-dir", dest],
      {
        db,
      },
    );
    assert.deepEqual(r.notRewritable, [{ root: "/tmp/torchinductor_ec2-user", artifacts: 17 }]);
    const text = mcm(["relocate", "--cache-dir", dest, "-y"], { db });
    assert.equal(text.code, 0, text.stderr);
    assert.match(
      text.stderr,
      /not rewritten: 17 vLLM artifacts name autotuner paths under \/tmp\/torchinductor_ec2-user \(inside CRC-framed artifacts, which mcm does not rewrite\); Inductor reads and writes \.best_config files there/,
    );
  });

  it("--to-origin imports where the cache was compiled; refused with --cache-dir, or when nothing records it", () => {
    const db = dbIn(tempDir());
    const root = extractFixture("torchinductor_root");
    const archive = join(tempDir(), "ind.tgz");
    mcmJson(["export", "--cache-dir", root, "-o", archive], { db });
    const dry = mcmJson<{ dest: string; dryRun: boolean }>(["import", archive, "--to-origin", "--dry-run"], { db });
    assert.deepEqual([dry.dest, dry.dryRun], ["/tmp/mcm-fixtures/torchinductor_root", true]);
    const both = mcm(["import", archive, "--to-origin", "--cache-dir", tempDir()], { db });
    assert.equal(both.code, 2);
    assert.match(both.stderr, /give --cache-dir or --to-origin, not both/);
    const bare = join(tempDir(), "bare.tgz");
    const src = tempDir();
    writeFileSync(join(src, "x.txt"), "no kernels here");
    execFileSync("tar", ["czf", bare, "-C", src, "x.txt"]);
    const none = mcm(["import", bare, "--to-origin"], { db });
    assert.equal(none.code, 2);
    assert.match(none.stderr, /records no original cache folder/);
    assert.equal(none.stderr.trim().split("\n").length, 1);
  });

  it("--dry-run writes nothing and prints the same plan", () => {
    const db = dbIn(tempDir());
    const root = extractFixture("triton-cache");
    const archive = join(tempDir(), "a.tgz");
    mcmJson(["export", "--cache-dir", root, "-o", archive], { db });
    const dest = join(tempDir(), "dest");
    const r = mcm(["import", archive, "--cache-dir", dest, "--dry-run"], { db });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Would import .*kernels: 14 added/s);
    assert.match(r.stdout, /Dry run: nothing was written/);
    assert.equal(existsSync(dest), false);
  });

  it("without --cache-dir, goes to the default folder of the archive's layout", () => {
    const db = dbIn(tempDir());
    const root = extractFixture("triton-cache");
    const archive = join(tempDir(), "a.tgz");
    mcmJson(["export", "--cache-dir", root, "-o", archive], { db });
    const home = tempDir();
    const r = mcm(["import", archive], { db, env: { TRITON_CACHE_DIR: join(home, "tc") } });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(readdirSync(join(home, "tc")).length, 20);
  });

  it("unsafe entries: listed, left out, exit 2; the rest imported", () => {
    const db = dbIn(tempDir());
    const tmp = tempDir();
    const archive = writeRawTarGz(join(tmp, "bad.tgz"), [
      { name: "../escape.txt", data: "x" },
      { name: "/abs.txt", data: "x" },
      { name: "ok/file.txt", data: "fine" },
    ]);
    const dest = join(tmp, "dest");
    const r = mcm(["import", archive, "--cache-dir", dest], { db });
    assert.equal(r.code, 2);
    assert.match(r.stdout, /refused "\.\.\/escape\.txt": '\.\.' in the path/);
    assert.match(r.stdout, /refused "\/abs\.txt": absolute path/);
    assert.match(r.stderr, /refused 2 unsafe entries of .* \(listed above\); the rest was imported/);
    assert.equal(readFileSync(join(dest, "ok", "file.txt"), "utf8"), "fine");
    assert.equal(existsSync(join(tmp, "escape.txt")), false);
  });

  it("an archive refused whole: one line, exit 2, nothing written", () => {
    const db = dbIn(tempDir());
    const tmp = tempDir();
    const archive = writeRawTarGz(join(tmp, "lying.tgz"), [
      {
        name: "mcm-manifest.json",
        data: JSON.stringify({
          format: "mcm-archive",
          formatVersion: 1,
          layout: "triton",
          scope: "cache",
          sourceRoot: null,
          kernels: [],
          files: [{ path: "a.txt", size: 99, sha256: "0".repeat(64) }],
          totals: { kernels: 0, files: 1, bytes: 99 },
        }),
      },
      { name: "a.txt", data: "short" },
    ]);
    const dest = join(tmp, "dest");
    const r = mcm(["import", archive, "--cache-dir", dest], { db });
    assert.equal(r.code, 2);
    assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
    assert.match(r.stderr, /a\.txt holds 5 bytes, the manifest says 99/);
    assert.equal(existsSync(dest), false);
    assert.deepEqual(snapshot(tmp), [`lying.tgz ${readFileSync(archive).length}`]);
  });

  it("not an archive, or missing: exit 2 with one line", () => {
    const db = dbIn(tempDir());
    const tmp = tempDir();
    const r = mcm(["import", join(tmp, "missing.tgz"), "--cache-dir", tmp], { db });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /archive not found/);
    const junk = join(tmp, "junk.tgz");
    execFileSync("sh", ["-c", `head -c 5000 /dev/urandom | gzip > ${junk}`]);
    const j = mcm(["import", junk, "--cache-dir", join(tmp, "d")], { db });
    assert.equal(j.code, 2);
    assert.match(j.stderr, /not a valid tar archive|truncated/);
  });
});
