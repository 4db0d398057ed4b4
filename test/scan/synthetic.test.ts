import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { IndexDb } from "../../src/db/index.js";
import { indexRoot } from "../../src/scan/indexer.js";
import { cleanupTemp, tempDir } from "../helpers/fixtures.js";
import {
  base32Key,
  base64Key,
  hexKey,
  ROCM_KERNEL,
  TRITON2_KERNEL,
  TRITON30_KERNEL,
  writeKernel,
  XPU_KERNEL,
} from "../helpers/synthetic.js";

after(cleanupTemp);

async function indexOne(build: (root: string) => void) {
  const root = tempDir();
  build(root);
  const db = new IndexDb(":memory:");
  const summary = await indexRoot(db, root, { mode: "auto" });
  return { root, db, summary, rows: db.queryKernels({}, { field: "hash", desc: false }) };
}

describe("formats the fixtures do not have", () => {
  it("ROCm: hip backend, gfx arch strings, warp size 64, .hsaco binary and .amdgcn assembly", async () => {
    const { rows, db, summary } = await indexOne((root) => {
      writeKernel(root, ROCM_KERNEL(base32Key(1), "gfx90a"));
      writeKernel(root, ROCM_KERNEL(base32Key(2), "gfx942:sramecc+:xnack-"));
    });
    assert.deepEqual(summary.warnings, []);
    assert.deepEqual(
      rows.map((k) => [k.backend, k.arch, k.warpSize, k.numWarps, k.tritonVersion, k.staleGroupPaths]).sort(),
      [
        ["hip", "gfx90a", 64, 4, "3.6.0", false],
        ["hip", "gfx942", 64, 4, "3.6.0", false],
      ],
    );
    const kinds = Object.fromEntries(db.kernelBlob(rows[0]?.path as string).files.map((f) => [f.name, f.kind]));
    assert.equal(kinds["rocm_add.hsaco"], "binary");
    assert.equal(kinds["rocm_add.amdgcn"], "asm");
    assert.equal(kinds["rocm_add.ttgir"], "ir");
    const meta = JSON.parse(db.kernelBlob(rows[0]?.path as string).metadata as string);
    assert.equal(meta.kpack, 1, "unknown fields are kept");
  });

  it("Intel XPU: arch from the device-property dict, .spv binary", async () => {
    const { rows, db } = await indexOne((root) => writeKernel(root, XPU_KERNEL(base32Key(3))));
    assert.equal(rows.length, 1);
    assert.equal(rows[0]?.backend, "xpu");
    assert.equal(rows[0]?.arch, "pvc");
    assert.equal(rows[0]?.warpSize, 32);
    assert.ok(
      db.kernelBlob(rows[0]?.path as string).files.some((f) => f.name === "xpu_add.spv" && f.kind === "binary"),
    );
  });

  it("Triton 3.0: 64-hex folder names and no triton_version", async () => {
    const { rows, summary } = await indexOne((root) => writeKernel(root, TRITON30_KERNEL(hexKey(4, 64))));
    assert.deepEqual(summary.warnings, []);
    assert.equal(rows[0]?.key.length, 64);
    assert.equal(rows[0]?.arch, "80");
    assert.equal(rows[0]?.tritonVersion, null);
    assert.equal(rows[0]?.backend, "cuda");
  });

  it("Triton 2.x: 32-hex names, list-form child_paths, no target: backend from the binary", async () => {
    const { rows, summary } = await indexOne((root) => writeKernel(root, TRITON2_KERNEL(hexKey(5, 32))));
    assert.deepEqual(summary.warnings, []);
    assert.equal(rows[0]?.key.length, 32);
    assert.equal(rows[0]?.backend, "cuda");
    assert.equal(rows[0]?.arch, "unknown");
    assert.equal(rows[0]?.warpSize, 32);
    assert.equal(rows[0]?.numWarps, 8);
    assert.equal(rows[0]?.staleGroupPaths, false, "relative names are never stale");
  });

  it("Triton 3.2: 43-char url-safe base64 names", async () => {
    const key = base64Key(6);
    const { rows } = await indexOne((root) => writeKernel(root, { ...TRITON30_KERNEL(key), name: "b64_kernel" }));
    assert.equal(rows[0]?.key, key);
    assert.equal(rows[0]?.key.length, 43);
  });

  it("a copied cache: paths naming this kernel at another root are stale, not warnings", async () => {
    const { rows, summary } = await indexOne((root) => {
      const key = base32Key(7);
      writeKernel(root, { ...ROCM_KERNEL(key), groupBase: `/old/place/cache/${key}` });
    });
    assert.equal(rows[0]?.staleGroupPaths, true);
    assert.deepEqual(summary.warnings, []);
  });
});
