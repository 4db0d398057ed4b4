import assert from "node:assert/strict";
import { readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { dbIn, mcm, mcmJson } from "../helpers/cli.js";
import { cleanupTemp, extractFixture, tempDir } from "../helpers/fixtures.js";
import { base32Key, ROCM_KERNEL, writeKernel } from "../helpers/synthetic.js";

after(cleanupTemp);

let db: string;
let triton: string;
let inductor: string;

before(() => {
  db = dbIn(tempDir());
  triton = extractFixture("triton-cache");
  inductor = extractFixture("torchinductor_root");
  for (const dir of [triton, inductor]) assert.equal(mcm(["index", "--cache-dir", dir], { db }).code, 0);
});

describe("mcm show", () => {
  it("one kernel in full by a lowercase prefix", () => {
    const key = readdirSync(triton).find((k) =>
      readdirSync(`${triton}/${k}`).includes("softmax_kernel.json"),
    ) as string;
    const r = mcm(["show", key.slice(0, 10).toLowerCase()], { db });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^softmax_kernel  ${key}\n`));
    assert.match(r.stdout, /group paths\s+stale: they point at the cache's old location/);
    assert.match(r.stdout, /softmax_kernel\.cubin\s+binary\s+\d/);
    assert.match(r.stdout, /"triton_version": "3\.6\.0"/);
    const j = mcmJson<{
      hash: string;
      files: { name: string; kind: string; size: number }[];
      metadata: { name: string };
      staleGroupPaths: boolean;
    }>(["show", key], { db });
    assert.equal(j.hash, key);
    assert.equal(j.files.length, 8);
    assert.equal(j.metadata.name, "softmax_kernel");
    assert.equal(j.staleGroupPaths, true);
  });

  it("an ambiguous prefix lists the candidates and exits 2", () => {
    const keys = readdirSync(`${inductor}/triton/0`);
    const prefix = keys[0]?.slice(0, 1) as string;
    const r = mcm(["show", prefix], { db });
    assert.equal(r.code, 2);
    assert.match(r.stderr, new RegExp(`'${prefix}' matches \\d+ kernels; give more of the hash`));
    assert.ok(r.stderr.split("\n").length > 2);
  });

  it("no match exits 1", () => {
    const r = mcm(["show", "ZZZZZZZZZZZZ"], { db });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /no kernel hash starts with 'ZZZZZZZZZZZZ'/);
  });
});

describe("mcm stats", () => {
  it("totals by backend, arch, version and name; non-kernel bytes; reclaimable; stale; warnings", () => {
    const s = mcmJson<Record<string, unknown> & { byBackend: { key: string; kernels: number }[] }>(["stats"], { db });
    assert.equal(s.kernels, 69);
    assert.deepEqual(
      s.byBackend.map((b) => [b.key, b.kernels]),
      [["cuda", 69]],
    );
    assert.deepEqual(
      (s.byArch as { key: string }[]).map((b) => b.key),
      ["90"],
    );
    assert.deepEqual(
      (s.byTritonVersion as { key: string; kernels: number }[]).map((b) => [b.key, b.kernels]),
      [["3.6.0", 69]],
    );
    assert.equal((s.topNames as { key: string }[]).length, 10);
    const kinds = (s.nonKernel as { kind: string }[]).map((o) => o.kind).sort();
    assert.deepEqual(kinds, [
      "autotune",
      "inductor-aotautograd",
      "inductor-code",
      "inductor-fxgraph",
      "launcher",
      "utils",
    ]);
    const rec = s.reclaimable as { irOnly: number; irAndAssembly: number };
    assert.ok(rec.irOnly > 0 && rec.irAndAssembly > rec.irOnly && rec.irAndAssembly < (s.bytes as number));
    assert.equal(s.staleGroupPaths, 69);
    assert.equal(s.warningCount, 0);
    const one = mcmJson<{ kernels: number; roots: unknown[] }>(["stats", "--cache-dir", triton], { db });
    assert.equal(one.kernels, 14);
    assert.equal(one.roots.length, 1);
  });

  it("the text report", () => {
    const r = mcm(["stats", "--cache-dir", triton], { db });
    assert.equal(r.code, 0);
    for (const h of [
      "Kernels",
      "By backend",
      "By arch",
      "By Triton version",
      "Top names",
      "Not kernels",
      "Reclaimable",
      "Health",
    ]) {
      assert.match(r.stdout, new RegExp(`^${h}$`, "m"));
    }
    assert.match(r.stdout, /^14 kernels, 112 files, [\d.]+ MiB$/m);
    assert.match(r.stdout, /14 kernels have stale group paths/);
  });
});

describe("mcm show: text from a cache", () => {
  it("control characters in the name, metadata and file names are escaped; --json keeps them", () => {
    const db = dbIn(tempDir());
    const root = tempDir();
    const evil = "evil\u001b]0;pwned\u0007\nname";
    const k = ROCM_KERNEL(base32Key(301));
    const folder = writeKernel(root, {
      ...k,
      name: "evil",
      metadata: { ...(k.metadata as object), name: evil, note: "x\u009b31m\u2028y" },
    });
    writeFileSync(join(folder, "evil\u001b[2J.ptx"), "ptx");
    assert.equal(mcm(["index", "--cache-dir", root], { db }).code, 0);
    const r = mcm(["show", k.key], { db });
    assert.equal(r.code, 0, r.stderr);
    // biome-ignore lint/suspicious/noControlCharactersInRegex: the attack is the control characters
    assert.doesNotMatch(r.stdout, /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029]/);
    assert.ok(r.stdout.startsWith(`evil\\x1b]0;pwned\\x07\\nname  ${k.key}\n`), r.stdout);
    assert.ok(r.stdout.includes("evil\\x1b[2J.ptx"), r.stdout);
    assert.ok(r.stdout.includes("x\\x9b31m\\u2028y"), r.stdout);
    const j = mcmJson<{ name: string; metadata: { name: string } }>(["show", k.key], { db });
    assert.equal(j.name, evil);
    assert.equal(j.metadata.name, evil);
    // stats names the kernel in its top names
    const st = mcm(["stats", "--cache-dir", root], { db });
    assert.equal(st.code, 0, st.stderr);
    // biome-ignore lint/suspicious/noControlCharactersInRegex: the attack is the control characters
    assert.doesNotMatch(st.stdout, /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029]/);
    assert.ok(st.stdout.includes("evil\\x1b]0;pwned"), st.stdout);
  });
});
