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

/** The entries MCV writes, as the whole-document code made them. */
function expected(kernels: PackedKernel[]): string {
  const entries = kernels.map((k) => {
    const e: Record<string, unknown> = { hash: k.hash ?? k.key };
    if (k.ptxVersion !== null) e.ptx_version = k.ptxVersion;
    if (k.numStages) e.num_stages = k.numStages;
    if (k.numWarps) e.num_warps = k.numWarps;
    if (k.debug) e.debug = true;
    e.backend = k.backend;
    e.arch = k.arch;
    e.warp_size = k.warpSize ?? 0;
    return e;
  });
  entries.sort((a, b) => (String(a.hash) < String(b.hash) ? -1 : String(a.hash) > String(b.hash) ? 1 : 0));
  return `${JSON.stringify({ triton: entries }, null, 2)}\n`;
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
    const pieces = [...mcvManifestText("triton", kernels)];
    assert.ok(pieces.length > kernels.length, "written in pieces");
    assert.equal(pieces.join(""), expected(kernels));
    assert.equal([...mcvManifestText("triton", [])].join(""), expected([]));
  });
});
