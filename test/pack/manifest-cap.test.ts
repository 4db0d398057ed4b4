// mcm-manifest.json comes from whoever made the archive: too big or too deep
// is one clear error line, before any of it is parsed or anything is written.
import assert from "node:assert/strict";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { MAX_MANIFEST_BYTES, parseManifest } from "../../src/pack/manifest.js";
import { dbIn, mcm } from "../helpers/cli.js";
import { cleanupTemp, tempDir } from "../helpers/fixtures.js";
import { writeRawTarGz } from "../helpers/tar.js";

after(cleanupTemp);

const head = '{"format":"mcm-archive","formatVersion":1,"layout":"triton","scope":"cache","kernels":[],"files":[';
const nested = (depth: number) => `${head}${"[".repeat(depth)}${"]".repeat(depth)}]}`;

function importManifest(text: string, where: "dest" | "default"): { code: number; stderr: string; dest: string } {
  const dir = tempDir();
  const archive = writeRawTarGz(join(dir, "a.tgz"), [{ name: "mcm-manifest.json", data: text }]);
  const dest = join(dir, "dest");
  const args = where === "dest" ? ["import", archive, "--cache-dir", dest] : ["import", archive];
  const r = mcm(args, { db: dbIn(dir), env: { HOME: dir, TRITON_CACHE_DIR: dest } });
  return { ...r, dest };
}

describe("manifest caps", () => {
  it(`over ${MAX_MANIFEST_BYTES / 2 ** 20} MiB: refused with one line, nothing written`, () => {
    assert.equal(MAX_MANIFEST_BYTES, 16 * 2 ** 20);
    const big = nested(10_000_000); // 20 MB
    for (const where of ["dest", "default"] as const) {
      const r = importManifest(big, where);
      assert.equal(r.code, 2);
      assert.match(r.stderr, /^mcm: invalid mcm-manifest\.json: 20\.0 MB, over the 16 MiB cap\n$/);
      assert.ok(!existsSync(r.dest));
    }
  });

  it("export refuses, before writing a byte, a cache whose manifest import would refuse", () => {
    // 60k empty files with long names: about 22 MB of manifest records
    const dir = tempDir();
    const root = join(dir, "cache");
    const junk = join(root, "junk");
    mkdirSync(junk, { recursive: true });
    for (let i = 0; i < 60_000; i++) writeFileSync(join(junk, `${String(i).padStart(6, "0")}${"x".repeat(230)}`), "");
    const out = join(dir, "a.tar.gz");
    const r = mcm(["export", "--cache-dir", root, "--mode", "triton", "-o", out], { db: dbIn(dir) });
    assert.equal(r.code, 2, r.stderr);
    assert.match(
      r.stderr,
      /^mcm: this export's mcm-manifest\.json would be 2\d\.\d MB \(60000 files\), over the 16 MiB that mcm import reads: export fewer kernels/,
    );
    assert.equal(r.stderr.split("\n").length, 2);
    assert.ok(!existsSync(out));
  });

  it("nested deeper than 64 levels: refused with one line (no stack overflow)", () => {
    for (const where of ["dest", "default"] as const) {
      const r = importManifest(nested(100_000), where);
      assert.equal(r.code, 2);
      assert.match(r.stderr, /^mcm: invalid mcm-manifest\.json: JSON nested deeper than 64 levels\n$/);
    }
    assert.throws(() => parseManifest(nested(62)), /bad file record/);
  });
});
