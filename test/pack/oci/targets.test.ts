import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseNvidiaSmi, parseRocminfo } from "../../../src/pack/oci/gpus.js";
import { checkTargets } from "../../../src/pack/oci/targets.js";

const H100 = parseNvidiaSmi("9.0, NVIDIA H100 80GB HBM3\n");
const MI250 = parseRocminfo("Agent 2\n  Name:                    gfx90a                             \n  Uuid: GPU-x\n");

describe("GPU detection output", () => {
  it("reads nvidia-smi compute capabilities as Triton's CUDA arch", () => {
    assert.deepEqual(H100, [{ backend: "cuda", arch: "90", warpSize: 32, name: "NVIDIA H100 80GB HBM3" }]);
    assert.deepEqual(
      parseNvidiaSmi("8.0, NVIDIA A100-SXM4-40GB\n8.0, NVIDIA A100-SXM4-40GB\n").map((g) => g.arch),
      ["80", "80"],
    );
  });

  it("reads rocminfo agents, ignoring CPU agents", () => {
    const text =
      "  Name:                    AMD EPYC 7763 64-Core Processor\n  Name:                    gfx942:sramecc+:xnack-\n";
    assert.deepEqual(parseRocminfo(text), [{ backend: "hip", arch: "gfx942", warpSize: 64, name: "gfx942" }]);
    assert.deepEqual(
      MI250.map((g) => g.arch),
      ["gfx90a"],
    );
  });
});

describe("checkTargets", () => {
  it("accepts an image with at least one target this machine runs", () => {
    const c = checkTargets(
      [
        { backend: "cuda", arch: "90", warp_size: 32 },
        { backend: "cuda", arch: "80", warp_size: 32 },
      ],
      H100,
    );
    assert.equal(c.ok, true);
    assert.deepEqual(
      c.unmatched.map((t) => t.arch),
      ["80"],
    );
  });

  it("refuses other arches, other backends, other warp sizes", () => {
    assert.equal(checkTargets([{ backend: "cuda", arch: "80", warp_size: 32 }], H100).ok, false);
    assert.equal(checkTargets([{ backend: "hip", arch: "gfx90a", warp_size: 64 }], H100).ok, false);
    assert.equal(checkTargets([{ backend: "hip", arch: "gfx90a", warp_size: 32 }], MI250).ok, false);
    assert.equal(checkTargets([{ backend: "cuda", arch: "90", warp_size: 32 }], []).ok, false);
  });

  it("reads MCV's spellings: sm_90 (vLLM binary caches), rocm for hip, arch features", () => {
    assert.equal(checkTargets([{ backend: "cuda", arch: "sm_90", warp_size: 32 }], H100).ok, true);
    assert.equal(checkTargets([{ backend: "rocm", arch: "gfx90a", warp_size: 64 }], MI250).ok, true);
    assert.equal(checkTargets([{ backend: "hip", arch: "gfx90a:xnack-", warp_size: 64 }], MI250).ok, true);
  });
});
