import assert from "node:assert/strict";
import { chmodSync, mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import type { ScanWarning } from "../../src/core/types.js";
import { IndexDb } from "../../src/db/index.js";
import { indexRoot } from "../../src/scan/indexer.js";
import { dbIn, mcm } from "../helpers/cli.js";
import { cleanupTemp, extractFixture, tempDir } from "../helpers/fixtures.js";
import { base32Key, hexKey, ROCM_KERNEL, TRITON2_KERNEL, writeKernel } from "../helpers/synthetic.js";

after(cleanupTemp);

const codes = (ws: ScanWarning[]) => ws.map((w) => w.code).sort();

async function scan(root: string) {
  const db = new IndexDb(":memory:");
  const summary = await indexRoot(db, root, { mode: "triton" });
  return { db, summary };
}

describe("bad input: one warning with its path, the rest indexed", () => {
  it("malformed metadata JSON: a warning; the kernel is still counted by its files", async () => {
    const root = extractFixture("triton-cache");
    const key = base32Key(10);
    const folder = writeKernel(root, { ...ROCM_KERNEL(key), metadata: '{"name": "rocm_add", broken' });
    const { db, summary } = await scan(root);
    assert.equal(summary.kernels, 15);
    assert.deepEqual(codes(summary.warnings), ["bad-json"]);
    assert.equal(summary.warnings[0]?.path, join(folder, "rocm_add.json"));
    const k = db.queryKernels({ name: { match: "exact", name: "rocm_add" } })[0];
    assert.equal(k?.backend, "hip", "backend from the binary's extension");
    assert.equal(k?.warnings.length, 1);
  });

  it("unreadable group JSON, and a group file pointing outside the cache", async () => {
    const root = tempDir();
    const a = writeKernel(root, ROCM_KERNEL(base32Key(11)));
    writeFileSync(join(a, "__grp__rocm_add.json"), "not json");
    const b = writeKernel(root, ROCM_KERNEL(base32Key(12)));
    writeFileSync(
      join(b, "__grp__rocm_add.json"),
      JSON.stringify({ child_paths: { "rocm_add.hsaco": "/etc/passwd" } }),
    );
    const { summary } = await scan(root);
    assert.equal(summary.kernels, 2);
    assert.deepEqual(codes(summary.warnings), ["bad-json", "group-outside"]);
    assert.equal(summary.warnings.find((w) => w.code === "group-outside")?.path, join(b, "__grp__rocm_add.json"));
  });

  it("group paths into another kernel's folder are outside; a moved cache's paths to this kernel are not (CLI)", () => {
    const root = tempDir();
    const moved = writeKernel(root, { ...ROCM_KERNEL(base32Key(21)), groupBase: `/old/cache/${base32Key(21)}` });
    const other = writeKernel(root, { ...ROCM_KERNEL(base32Key(22)), groupBase: join(root, base32Key(21)) });
    const r = mcm(["index", "--cache-dir", root, "--json"], { db: dbIn(tempDir()) });
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { roots: { warnings: ScanWarning[] }[] };
    const warnings = out.roots[0]?.warnings ?? [];
    // one per child path (7 files), all in the kernel whose group file names the other kernel's folder
    assert.equal(warnings.length, 7);
    assert.ok(warnings.every((w) => w.code === "group-outside" && w.path === join(other, "__grp__rocm_add.json")));
    assert.ok(warnings.some((w) => w.message.includes(join(root, base32Key(21), "rocm_add.hsaco"))));
    assert.ok(!warnings.some((w) => w.path.startsWith(moved)));
  });

  it("Triton 2.x group entries that are paths, or '..', leave the folder", async () => {
    const root = tempDir();
    const key = hexKey(23, 32);
    const folder = writeKernel(root, TRITON2_KERNEL(key));
    const entries = ["legacy_kernel.cubin", "../x.cubin", "sub/x.cubin", "..", "legacy_kernel.json"];
    writeFileSync(join(folder, "__grp__legacy_kernel.json"), JSON.stringify({ child_paths: entries }));
    const { summary } = await scan(root);
    assert.equal(summary.kernels, 1);
    assert.deepEqual(
      summary.warnings.map((w) => [w.code, w.path, w.message]),
      ["../x.cubin", "sub/x.cubin", ".."].map((e) => [
        "group-outside",
        join(folder, "__grp__legacy_kernel.json"),
        `group entry ${JSON.stringify(e)} leaves the kernel folder`,
      ]),
    );
  });

  it("a symlink leaving the root is not followed", async () => {
    const root = tempDir();
    const outside = tempDir();
    writeKernel(outside, ROCM_KERNEL(base32Key(13)));
    symlinkSync(join(outside, base32Key(13)), join(root, base32Key(13)));
    const inside = writeKernel(root, ROCM_KERNEL(base32Key(14)));
    symlinkSync("/etc/hostname", join(inside, "rocm_add.extra"));
    const { summary } = await scan(root);
    assert.equal(summary.kernels, 1);
    assert.deepEqual(codes(summary.warnings), ["symlink-escape", "symlink-escape"]);
  });

  it("a file name that is not UTF-8", async () => {
    const root = tempDir();
    const folder = writeKernel(root, ROCM_KERNEL(base32Key(15)));
    writeFileSync(Buffer.concat([Buffer.from(`${folder}/bad-`), Buffer.from([0xff, 0xfe]), Buffer.from(".ttir")]), "x");
    mkdirSync(Buffer.concat([Buffer.from(`${root}/`), Buffer.from([0xc3, 0x28])]));
    const { summary } = await scan(root);
    assert.equal(summary.kernels, 1);
    assert.deepEqual(codes(summary.warnings), ["bad-name", "bad-name"]);
  });

  it("missing binary and missing metadata are warnings on a kernel", async () => {
    const root = tempDir();
    writeKernel(root, { ...ROCM_KERNEL(base32Key(16)), exts: ["ttir"] });
    const folder = writeKernel(root, ROCM_KERNEL(base32Key(17)));
    const { rmSync } = await import("node:fs");
    rmSync(join(folder, "rocm_add.json"));
    const { summary } = await scan(root);
    assert.equal(summary.kernels, 2);
    assert.deepEqual(codes(summary.warnings), ["missing-binary", "missing-metadata"]);
  });

  it("in-flight tmp folders, launchers and unknown files are counted, not kernels", async () => {
    const root = tempDir();
    writeKernel(root, ROCM_KERNEL(base32Key(18)));
    mkdirSync(join(root, "tmp.pid_4242_0f0e"));
    writeFileSync(join(root, "tmp.pid_4242_0f0e", "rocm_add.hsaco"), "partial");
    mkdirSync(join(root, base32Key(19)));
    writeFileSync(join(root, base32Key(19), "hip_utils.cpython-312-x86_64-linux-gnu.so"), "elf");
    writeFileSync(join(root, "README.txt"), "hello");
    const { db, summary } = await scan(root);
    assert.equal(summary.kernels, 1);
    assert.deepEqual(summary.warnings, []);
    const kinds = Object.fromEntries(db.otherGroups(root).map((o) => [o.kind, o.bytes]));
    assert.deepEqual(Object.keys(kinds).sort(), ["other", "tmp", "utils"]);
    assert.equal(kinds.tmp, 7);
  });

  it("a folder without permission: one warning, the rest indexed (CLI)", () => {
    const root = extractFixture("triton-cache");
    const locked = writeKernel(root, ROCM_KERNEL(base32Key(20)));
    chmodSync(locked, 0o000);
    // root reads anything: the helper drops the capabilities that let it
    const r = mcm(["-v", "index", "--cache-dir", root, "--json"], { db: dbIn(tempDir()), obeyPermissions: true });
    chmodSync(locked, 0o755);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.equal(out.kernels, 14);
    assert.equal(out.warningCount, 1);
    assert.equal(out.roots[0].warnings[0].code, "permission");
    assert.equal(out.roots[0].warnings[0].path, locked);
    assert.match(r.stderr, new RegExp(`warning: ${locked}: cannot read folder`));
  });

  it("a missing cache dir is one error line and exit code 2", () => {
    const dir = tempDir();
    const r = mcm(["index", "--cache-dir", join(dir, "nope")], { db: dbIn(dir) });
    assert.equal(r.code, 2);
    assert.equal(r.stderr, `mcm: cache dir not found: ${join(dir, "nope")}\n`);
    assert.equal(r.stdout, "");
  });
});
