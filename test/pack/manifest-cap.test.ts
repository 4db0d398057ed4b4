// mcm-manifest.json comes from whoever made the archive: too big or too deep
// is one clear error line, before any of it is parsed or anything is written.
import assert from "node:assert/strict";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { exportArchive } from "../../src/pack/export.js";
import { MAX_MANIFEST_BYTES } from "../../src/pack/manifest.js";
import { parseManifest } from "../../src/pack/manifest-read.js";
import { dbIn, mcm } from "../helpers/cli.js";
import { cleanupTemp, tempDir } from "../helpers/fixtures.js";
import { writeRawTarGz, writeZeroBombTarGz } from "../helpers/tar.js";

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

/** A cache folder of `n` empty files with 236-character names (about 370 bytes of manifest each). */
function longNamedFiles(n: number) {
  const dir = tempDir();
  const root = join(dir, "cache");
  mkdirSync(join(root, "junk"), { recursive: true });
  for (let i = 0; i < n; i++) writeFileSync(join(root, "junk", `${String(i).padStart(6, "0")}${"x".repeat(230)}`), "");
  return { dir, root, out: join(dir, "a.tar.gz") };
}

describe("manifest caps", () => {
  it(`over ${MAX_MANIFEST_BYTES / 2 ** 20} MiB: refused with one line, before any of it is read, nothing written`, async () => {
    assert.equal(MAX_MANIFEST_BYTES, 256 * 2 ** 20);
    const dir = tempDir();
    // its tar header says how big it is: a few hundred KB of gzip'd zeros
    const archive = await writeZeroBombTarGz(join(dir, "a.tgz"), "mcm-manifest.json", MAX_MANIFEST_BYTES + 1);
    for (const where of ["dest", "default"] as const) {
      const dest = join(dir, `dest-${where}`);
      const args = where === "dest" ? ["import", archive, "--cache-dir", dest] : ["import", archive];
      const r = mcm(args, { db: dbIn(dir), env: { HOME: dir, TRITON_CACHE_DIR: dest } });
      assert.equal(r.code, 2);
      assert.match(r.stderr, /^mcm: invalid mcm-manifest\.json: 268\.4 MB, over the 256 MiB cap\n$/);
      assert.ok(!existsSync(dest));
    }
  });

  it("a manifest past the old 16 MiB cap exports and imports (read a record at a time)", () => {
    // 60k empty files with long names: about 22 MB of manifest records
    const { dir, root, out } = longNamedFiles(60_000);
    const db = dbIn(dir);
    const e = mcm(["export", "--cache-dir", root, "--mode", "triton", "-o", out], { db });
    assert.equal(e.code, 0, e.stderr);
    const dest = join(dir, "dest");
    const i = mcm(["import", out, "--cache-dir", dest, "--json"], { db });
    assert.equal(i.code, 0, i.stderr);
    const r = JSON.parse(i.stdout) as { verified: boolean; files: number };
    assert.equal(r.verified, true);
    assert.equal(r.files, 60_000);
    assert.ok(existsSync(join(dest, "junk", `059999${"x".repeat(230)}`)));
  });

  it("export refuses, before writing a byte, a cache whose manifest import would refuse", async () => {
    const { root, out } = longNamedFiles(2_000);
    // the cap is the importer's; a small one stands in for it here (the real one takes 700k such files)
    await assert.rejects(
      exportArchive({ root, mode: "triton", out, maxManifestBytes: 2 ** 19 }),
      /^McmError: this export's mcm-manifest\.json would be 0\.\d MB \(2000 files\), over the 0\.5 MiB that mcm import reads: export fewer kernels/,
    );
    assert.ok(!existsSync(out));
    await exportArchive({ root, mode: "triton", out, maxManifestBytes: 2 ** 20 });
    assert.ok(existsSync(out));
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
