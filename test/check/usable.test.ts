import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type GpuFact, type MachineFacts, targetsUsableHere, verdict } from "../../src/check/usable.js";

const h100: MachineFacts = {
  gpus: [{ index: 0, backend: "cuda", arch: "90", name: "NVIDIA H100 80GB HBM3", warpSize: 32 }],
  probedBackends: ["cuda", "hip"],
  triton: { version: "3.6.0", python: "python3" },
  unchecked: [],
};
const mixed: MachineFacts = {
  ...h100,
  gpus: [
    ...h100.gpus,
    { index: 1, backend: "cuda", arch: "80", name: "NVIDIA A100", warpSize: 32 },
    { index: 0, backend: "hip", arch: "gfx90a", name: "AMD Instinct MI210", warpSize: 64 },
  ],
};
const bare: MachineFacts = {
  gpus: [],
  probedBackends: [],
  triton: null,
  unchecked: [
    { what: "nvidia", tool: "nvidia-smi", reason: "nvidia-smi not found on PATH" },
    { what: "amd", tool: "rocminfo", reason: "rocminfo not found on PATH; amd-smi not found on PATH" },
    { what: "triton", tool: "python3", reason: "python3 cannot import triton: ModuleNotFoundError" },
  ],
};
const k90 = { backend: "cuda", arch: "90", warpSize: 32, tritonVersion: "3.6.0", staleGroupPaths: false };
const codes = (v: ReturnType<typeof verdict>) => [
  v.status,
  v.reasons.map((r) => r.code),
  v.unchecked.map((r) => r.code),
];

describe("verdict", () => {
  it("a kernel for this GPU, this Triton and its own folder can hit", () => {
    assert.deepEqual(codes(verdict(k90, h100)), ["usable", [], []]);
    // metadata spellings of the same target
    assert.deepEqual(codes(verdict({ ...k90, backend: "nvidia", arch: 90 }, h100)), ["usable", [], []]);
    assert.deepEqual(codes(verdict({ ...k90, arch: "sm_90" }, h100)), ["usable", [], []]);
  });

  it("each thing that stops a hit is a reason", () => {
    assert.deepEqual(codes(verdict({ ...k90, arch: "80" }, h100)), ["unusable", ["arch-mismatch"], []]);
    assert.equal(
      verdict({ ...k90, arch: "80" }, h100).reasons[0]?.message,
      "built for cuda 80; this machine's NVIDIA GPUs are 90",
    );
    assert.deepEqual(codes(verdict({ ...k90, tritonVersion: "3.6.1" }, h100)), [
      "unusable",
      ["triton-version-mismatch"],
      [],
    ]);
    assert.deepEqual(codes(verdict({ ...k90, staleGroupPaths: true }, h100)), ["unusable", ["stale-group-paths"], []]);
    assert.deepEqual(codes(verdict({ ...k90, backend: "hip", arch: "gfx942", warpSize: 64 }, h100)), [
      "unusable",
      ["backend-missing"],
      [],
    ]);
    assert.deepEqual(codes(verdict({ ...k90, arch: "80", tritonVersion: "3.5.0", staleGroupPaths: true }, h100)), [
      "unusable",
      ["arch-mismatch", "triton-version-mismatch", "stale-group-paths"],
      [],
    ]);
  });

  it("the exact Triton version counts: a prefix or a local build tag is another version", () => {
    assert.equal(verdict({ ...k90, tritonVersion: "3.6" }, h100).status, "unusable");
    assert.equal(verdict({ ...k90, tritonVersion: "3.6.0+git1234" }, h100).status, "unusable");
  });

  it("any GPU of the arch will do; the warp size must match where known", () => {
    assert.equal(verdict({ ...k90, arch: "80" }, mixed).status, "usable");
    const gfx = { backend: "hip", arch: "gfx90a", warpSize: 64, tritonVersion: "3.6.0" };
    assert.equal(verdict(gfx, mixed).status, "usable");
    assert.deepEqual(codes(verdict({ ...gfx, warpSize: 32 }, mixed)), ["unusable", ["warp-size-mismatch"], []]);
    assert.equal(verdict({ ...gfx, arch: "gfx90a:sramecc+:xnack-" }, mixed).status, "usable");
  });

  it("GPUs of one arch with different warp sizes: a kernel for either can hit; one for neither cannot", () => {
    const rdna: MachineFacts = {
      ...h100,
      gpus: [
        { index: 0, backend: "hip", arch: "gfx1100", name: "Radeon RX 7900 XTX", warpSize: 64 },
        { index: 1, backend: "hip", arch: "gfx1100", name: "Radeon RX 7900 XTX", warpSize: 32 },
      ],
    };
    const k = { backend: "hip", arch: "gfx1100", tritonVersion: "3.6.0" };
    assert.deepEqual(codes(verdict({ ...k, warpSize: 64 }, rdna)), ["usable", [], []]);
    assert.deepEqual(codes(verdict({ ...k, warpSize: 32 }, rdna)), ["usable", [], []]);
    assert.deepEqual(codes(verdict({ ...k, warpSize: 16 }, rdna)), ["unusable", ["warp-size-mismatch"], []]);
    assert.equal(
      verdict({ ...k, warpSize: 16 }, rdna).reasons[0]?.message,
      "built for warp size 16; this machine's gfx1100 GPUs use 64, 32",
    );
    // one GPU whose warp size is not known: no verdict on the warp size
    const unknown = { ...rdna, gpus: [{ ...(rdna.gpus[0] as GpuFact), warpSize: null }, rdna.gpus[1] as GpuFact] };
    assert.deepEqual(codes(verdict({ ...k, warpSize: 16 }, unknown)), ["usable", [], []]);
  });

  it("what no tool could tell is unchecked, never usable", () => {
    const v = verdict(k90, bare);
    assert.deepEqual(codes(v), ["unchecked", [], ["backend-not-checked", "triton-not-checked"]]);
    assert.deepEqual(
      v.unchecked.map((r) => r.message),
      [
        "NVIDIA GPUs not checked: nvidia-smi not found on PATH",
        "Triton version not checked: python3 cannot import triton: ModuleNotFoundError",
      ],
    );
    assert.deepEqual(codes(verdict({ ...k90, backend: "xpu", arch: "pvc" }, h100)), [
      "unchecked",
      [],
      ["backend-not-checked"],
    ]);
    assert.deepEqual(codes(verdict({ ...k90, tritonVersion: null }, h100)), [
      "unchecked",
      [],
      ["triton-version-unknown"],
    ]);
    // a definite reason wins over what is unchecked
    assert.equal(verdict({ ...k90, staleGroupPaths: true }, bare).status, "unusable");
  });

  it("a partial GPU list: a missing arch is unchecked, not a mismatch", () => {
    const partial: MachineFacts = {
      ...h100,
      probedBackends: [],
      unchecked: [{ what: "nvidia", tool: "nvidia-smi", reason: "nvidia-smi printed 1 line(s) mcm cannot read" }],
    };
    assert.equal(verdict(k90, partial).status, "usable");
    assert.deepEqual(codes(verdict({ ...k90, arch: "80" }, partial)), ["unchecked", [], ["backend-not-checked"]]);
  });
});

describe("targetsUsableHere (for pull)", () => {
  it("an image for this machine is ok", () => {
    const r = targetsUsableHere([{ backend: "cuda", arch: 90, warp_size: 32 }], h100);
    assert.deepEqual([r.ok, r.reasons, r.unchecked], [true, [], []]);
  });

  it("a mismatch is refused with the reason", () => {
    const r = targetsUsableHere([{ backend: "hip", arch: "gfx942", warp_size: 64 }], h100);
    assert.equal(r.ok, false);
    assert.deepEqual(r.reasons, ["hip gfx942 (warp 64): no AMD GPU here (kernels for hip gfx942)"]);
    const a = targetsUsableHere([{ backend: "cuda", arch: 80, warp_size: 32 }], h100);
    assert.deepEqual(a.reasons, ["cuda 80 (warp 32): built for cuda 80; this machine's NVIDIA GPUs are 90"]);
  });

  it("a mixed image is ok when one target fits; its other targets are still named", () => {
    const r = targetsUsableHere(
      [
        { backend: "cuda", arch: 90, warp_size: 32 },
        { backend: "cuda", arch: 80, warp_size: 32 },
      ],
      h100,
    );
    assert.equal(r.ok, true);
    assert.equal(r.reasons.length, 1);
  });

  it("no Triton version in the labels: not compared; given: compared", () => {
    assert.equal(targetsUsableHere([{ backend: "cuda", arch: 90 }], h100).ok, true);
    assert.equal(targetsUsableHere([{ backend: "cuda", arch: 90, triton_version: "3.5.1" }], h100).ok, false);
  });

  it("a machine mcm could not probe: ok, with what was not checked", () => {
    const r = targetsUsableHere([{ backend: "cuda", arch: 90, warp_size: 32 }], bare);
    assert.equal(r.ok, true);
    assert.deepEqual(r.unchecked, ["NVIDIA GPUs not checked: nvidia-smi not found on PATH"]);
  });

  it("no targets is not ok", () => {
    assert.equal(targetsUsableHere([], h100).ok, false);
  });
});
