import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { dbIn, mcm, mcmJson } from "../helpers/cli.js";
import { cleanupTemp, extractFixture, tempDir } from "../helpers/fixtures.js";
import { fileDigests, withoutVllmIndex } from "../helpers/tree.js";

after(cleanupTemp);

interface Exported {
  archive: string;
  bytes: number;
  sha256: string;
  layout: string;
  scope: string;
  totals: { kernels: number; files: number; bytes: number };
  kernels: { path: string; name: string }[];
}

describe("mcm export", () => {
  it("exports the whole cache; the JSON names the archive, its digest and totals", () => {
    const db = dbIn(tempDir());
    const root = extractFixture("triton-cache");
    const out = join(tempDir(), "cache.tar.gz");
    const r = mcmJson<Exported>(["export", "--cache-dir", root, "-o", out], { db });
    assert.equal(r.archive, out);
    assert.equal(r.scope, "cache");
    assert.equal(r.layout, "triton");
    assert.equal(r.totals.kernels, 14);
    assert.equal(r.sha256, createHash("sha256").update(readFileSync(out)).digest("hex"));
    const text = mcm(["export", "--cache-dir", root, "-o", out], { db });
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /Exported the whole cache of .*: 14 kernels, 118 files/);
    assert.match(text.stdout, new RegExp(`sha256 ${r.sha256}`), "the same bytes again");
  });

  it("with list's filters, exports only the kernels they select", () => {
    const db = dbIn(tempDir());
    const root = extractFixture("triton-cache");
    const out = join(tempDir(), "some.tgz");
    const r = mcmJson<Exported>(["export", "--cache-dir", root, "--name", "softmax_kernel", "-o", out], { db });
    assert.equal(r.scope, "kernels");
    assert.deepEqual(
      r.kernels.map((k) => k.name),
      ["softmax_kernel", "softmax_kernel"],
    );
    const names = execFileSync("tar", ["tzf", out], { encoding: "utf8" }).trim().split("\n");
    assert.ok(names.slice(1).every((n) => r.kernels.some((k) => n.startsWith(k.path))));
  });

  it("nothing matched (a part of a name matches nothing): exit 1, no archive; no -o: exit 2", () => {
    const db = dbIn(tempDir());
    const root = extractFixture("triton-cache");
    const out = join(tempDir(), "none.tgz");
    for (const name of ["no_such_kernel", "softmax"]) {
      const r = mcm(["export", "--cache-dir", root, "--name", name, "-o", out], { db });
      assert.equal(r.code, 1, name);
      assert.match(r.stderr, /nothing to export/);
      assert.equal(existsSync(out), false);
    }
    assert.equal(mcm(["export", "--cache-dir", root], { db }).code, 2);
    assert.equal(mcm(["export", "--cache-dir", join(root, "nope"), "-o", out], { db }).code, 2);
  });
});

describe("mcm export of current vLLM's binary artifacts", () => {
  it("identical artifacts travel once (hard-link entries); import gives the same bytes back", () => {
    const db = dbIn(tempDir());
    const root = extractFixture("llama-binary-cache");
    const out = join(tempDir(), "llama.tar.gz");
    const r = mcmJson<Exported>(["export", "--cache-dir", root, "-o", out], { db });
    assert.equal(r.layout, "vllm");
    assert.equal(r.totals.kernels, 16, "the embedded kernels, in the manifest");
    const listing = execFileSync("tar", ["tvzf", out], { encoding: "utf8" }).split("\n");
    assert.equal(listing.filter((l) => / link to /.test(l)).length, 13);
    const dest = join(tempDir(), "imported");
    const imp = mcm(["import", out, "--cache-dir", dest], { db });
    assert.equal(imp.code, 0, imp.stderr);
    const a = fileDigests(root);
    const b = fileDigests(dest);
    assert.deepEqual(withoutVllmIndex(b.files), withoutVllmIndex(a.files), "byte for byte");
    const index = readFileSync(
      join(dest, "torch_compile_cache/edf531ca35/rank_0_0/backbone/vllm_compile_cache.py"),
      "utf8",
    );
    assert.ok(index.includes(`'${dest}/torch_compile_cache/edf531ca35/rank_0_0/backbone/`), "pointed at the import");
    assert.equal(b.inodes, a.inodes - 13, "the 14 identical artifacts share one inode after the import");
    // a filter on an embedded kernel exports the compile folder that holds it, whole
    const one = join(tempDir(), "one.tar.gz");
    const f = mcmJson<Exported>(["export", "--cache-dir", root, "--name", "triton_poi_fused_3", "-o", one], { db });
    assert.equal(f.scope, "kernels");
    const names = execFileSync("tar", ["tzf", one], { encoding: "utf8" });
    assert.equal(names.split("\n").filter((l) => /\/artifact_compile_range_1_2048_subgraph_\d+$/.test(l)).length, 17);
  });
});
