// MCV's manifest.json made an entry at a time (oci/mcv.ts mcvManifestText):
// the same bytes as the whole document through JSON.stringify(_, null, 2),
// which GKM's extractor and MCV itself read.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { mcvManifestText, type PackedKernel } from "../../../src/pack/oci/mcv.js";

function kernel(i: number, hash: string | null, extra: Partial<PackedKernel> = {}): PackedKernel {
  return {
    key: `KEY${i}`,
    backend: "cuda",
    arch: "90",
    warpSize: 32,
    numWarps: i % 3 ? 4 : null,
    numStages: i % 2 ? 3 : null,
    path: `/cache/KEY${i}`,
    hash,
    ptxVersion: i % 4 ? 84 : null,
    debug: i === 5,
    vllmHash: null,
    ...extra,
  };
}

describe("MCV manifest", () => {
  it("a Triton image's, an entry at a time, is JSON.stringify's bytes of the whole document", () => {
    // hashes out of order, two kernels sharing one (kept in the kernels' order), one without a hash (its key)
    const kernels = [
      kernel(0, "ff01"),
      kernel(1, "0a0b", { warpSize: null }),
      kernel(2, "7c7c"),
      kernel(3, "7c7c", { backend: "hip", arch: "gfx942", warpSize: 64 }),
      kernel(4, null),
      kernel(5, 'we"ird\\hash'),
    ];
    const pieces = [...mcvManifestText("triton", kernels)()];
    assert.ok(pieces.length > kernels.length, "written in pieces");
    const text = pieces.join("");
    const doc = JSON.parse(text) as { triton: Record<string, unknown>[] };
    assert.equal(text, `${JSON.stringify(doc, null, 2)}\n`);
    // by hash, a tie in the kernels' order (the hip one second), a kernel without one under its key
    assert.deepEqual(
      doc.triton.map((e) => `${e.hash} ${e.backend}`),
      ["0a0b cuda", "7c7c cuda", "7c7c hip", "KEY4 cuda", "ff01 cuda", 'we"ird\\hash cuda'],
    );
    assert.deepEqual(doc.triton[0], {
      hash: "0a0b",
      ptx_version: 84,
      num_stages: 3,
      num_warps: 4,
      backend: "cuda",
      arch: "90",
      warp_size: 0,
    });
    assert.equal(doc.triton.filter((e) => e.debug === true).length, 1);
    assert.equal([...mcvManifestText("triton", [])()].join(""), `${JSON.stringify({ triton: [] }, null, 2)}\n`);
  });
});
