import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { cpSync, mkdirSync, readFileSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { exportArchive } from "../../src/pack/export.js";
import type { Manifest } from "../../src/pack/manifest.js";
import { cleanupTemp, extractFixture, tempDir } from "../helpers/fixtures.js";
import { readEntries } from "../helpers/tar.js";
import { kernelFolders, snapshot } from "../helpers/tree.js";

after(cleanupTemp);

function touchAll(dir: string, when: Date): void {
  execFileSync("find", [dir, "-exec", "touch", "-h", "-d", when.toISOString(), "{}", "+"]);
}

const manifestOf = (archive: string): Manifest =>
  JSON.parse(execFileSync("tar", ["xzOf", archive, "mcm-manifest.json"], { encoding: "utf8" })) as Manifest;

describe("exportArchive", () => {
  it("same cache, same bytes: twice, and from a copy at another path with other mtimes", async () => {
    const root = extractFixture("triton-cache");
    const out = tempDir();
    const a = await exportArchive({ root, out: join(out, "a.tgz") });
    const b = await exportArchive({ root, out: join(out, "b.tgz") });
    assert.equal(a.sha256, b.sha256);
    const copy = join(tempDir(), "somewhere", "else");
    mkdirSync(join(copy, ".."), { recursive: true });
    cpSync(root, copy, { recursive: true });
    touchAll(copy, new Date("2031-05-06T07:08:09Z"));
    const c = await exportArchive({ root: copy, out: join(out, "c.tgz") });
    assert.equal(c.sha256, a.sha256);
    assert.deepEqual(readFileSync(join(out, "c.tgz")), readFileSync(join(out, "a.tgz")));
    assert.equal(
      a.sha256,
      createHash("sha256")
        .update(readFileSync(join(out, "a.tgz")))
        .digest("hex"),
    );
  });

  it("writes the manifest first: layout, source root, kernels, every file with size and sha256, totals", async () => {
    const root = extractFixture("triton-cache");
    const archive = join(tempDir(), "a.tgz");
    const r = await exportArchive({ root, out: archive });
    const names = execFileSync("tar", ["tzf", archive], { encoding: "utf8" }).trim().split("\n");
    assert.equal(names[0], "mcm-manifest.json");
    const m = manifestOf(archive);
    assert.deepEqual(m, { ...r.manifest, files: [...r.manifest.files] });
    assert.equal(m.format, "mcm-archive");
    assert.equal(m.formatVersion, 1);
    assert.equal(m.layout, "triton");
    assert.equal(m.scope, "cache");
    assert.equal(m.sourceRoot, "/tmp/mcm-fixtures/triton-cache", "where the group files point, not the export path");
    assert.equal(m.kernels.length, 14);
    assert.deepEqual(m.kernels.map((k) => k.path).sort(), kernelFolders(root).sort());
    const k = m.kernels.find((x) => x.name === "add_kernel");
    assert.deepEqual([k?.backend, k?.arch, k?.tritonVersion], ["cuda", "90", "3.6.0"]);
    const onDisk = snapshot(root);
    assert.equal(m.files.length, onDisk.length, "every file of the root, non-kernel entries included");
    for (const f of m.files) {
      const data = readFileSync(join(root, f.path));
      assert.equal(f.size, data.length);
      assert.equal(f.sha256, createHash("sha256").update(data).digest("hex"));
    }
    assert.deepEqual(m.totals, {
      kernels: 14,
      files: m.files.length,
      bytes: m.files.reduce((s, f) => s + f.size, 0),
    });
  });

  it("leaves out mcm's own files, Triton writes in flight and lock files", async () => {
    const root = extractFixture("triton-cache");
    const [key] = kernelFolders(root);
    writeFileSync(join(root, ".mcm-lock"), "1");
    mkdirSync(join(root, ".mcm-trash", "x"), { recursive: true });
    mkdirSync(join(root, `tmp.pid_${process.pid}_abc`));
    writeFileSync(join(root, `tmp.pid_${process.pid}_abc`, "half.cubin"), "x");
    writeFileSync(join(root, key as string, "add.json.tmp.pid_1_x"), "x");
    writeFileSync(join(root, "some.lock"), "");
    const r = await exportArchive({ root, out: join(tempDir(), "a.tgz") });
    const names = (await readEntries(r.out)).map((e) => e.name);
    assert.ok(!names.some((n) => n.includes(".mcm") || n.includes("tmp.pid_") || n.endsWith(".lock")), names.join());
    assert.deepEqual(r.skipped.map((s) => s.path).sort(), [
      `${key}/add.json.tmp.pid_1_x`,
      "some.lock",
      `tmp.pid_${process.pid}_abc`,
    ]);
  });

  it("with kernels given, archives only those folders (and their parent folders)", async () => {
    const root = extractFixture("vllm-cache");
    const full = await exportArchive({ root, out: join(tempDir(), "all.tgz") });
    const picked = full.manifest.kernels.slice(0, 3).map((k) => join(root, k.path));
    const r = await exportArchive({ root, kernels: picked, out: join(tempDir(), "some.tgz") });
    assert.equal(r.manifest.scope, "kernels");
    assert.equal(r.manifest.layout, "vllm");
    assert.deepEqual(
      r.manifest.kernels.map((k) => k.path),
      full.manifest.kernels.slice(0, 3).map((k) => k.path),
    );
    const files = [...r.manifest.files].map((f) => f.path);
    assert.ok(files.every((f) => r.manifest.kernels.some((k) => f.startsWith(`${k.path}/`))));
    const dirs = (await readEntries(r.out)).filter((e) => e.flag === "5").map((e) => e.name);
    assert.ok(dirs.includes("torch_compile_cache/"));
  });

  it("writes through a temp file: a failed export leaves nothing at the output path", async () => {
    const root = extractFixture("triton-cache");
    const dir = tempDir();
    await assert.rejects(exportArchive({ root, kernels: [join(root, "nope")], out: join(dir, "a.tgz") }), {
      name: "McmError",
      message: `${join(root, "nope")} is not a kernel folder (any more): run \`mcm index\` and try again`,
    });
    assert.deepEqual(snapshot(dir), []);
  });

  it("keeps the time of each file out: touching the cache changes nothing", async () => {
    const root = extractFixture("torchinductor_root");
    const a = await exportArchive({ root, out: join(tempDir(), "a.tgz") });
    touchAll(root, new Date());
    utimesSync(root, new Date(0), new Date(0));
    const b = await exportArchive({ root, out: join(tempDir(), "b.tgz") });
    assert.equal(a.sha256, b.sha256);
    assert.equal(a.manifest.layout, "inductor");
  });
});
