// What export and push stream instead of holding whole: the manifest text and the name order.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type Manifest, manifestText } from "../../src/pack/manifest.js";
import { compareUtf8 } from "../../src/pack/tar.js";

describe("streamed archive parts", () => {
  it("manifestText is JSON.stringify(m, null, 1) and a newline, empty lists and odd strings included", () => {
    const base = { format: "mcm-archive", formatVersion: 1, layout: "triton", scope: "cache", sourceRoot: null };
    const cases = [
      { ...base, kernels: [], files: [], totals: { kernels: 0, files: 0, bytes: 0 } },
      {
        ...base,
        sourceRoot: '/a/"b\nc',
        kernels: [
          { path: "x\u00e9\u{1f600}", name: "n", backend: "cuda", arch: "90", tritonVersion: null },
          { path: "y", name: "m", backend: "hip", arch: "gfx942", tritonVersion: "3.6.0" },
        ],
        files: [{ path: "a/b\u2028", size: 3, sha256: "ab" }],
        totals: { kernels: 2, files: 1, bytes: 3 },
      },
    ] as Manifest[];
    for (const m of cases) assert.equal([...manifestText(m)].join(""), `${JSON.stringify(m, null, 1)}\n`);
  });

  it("compareUtf8 orders as Buffer.compare orders the UTF-8 bytes", () => {
    const names = ["a", "ab", "a/", "a-b", "\u00e9", "\uffff", "\u{1f600}", "\ue000", "z", "", "a\u{10000}", "a\uff00"];
    const bytes = (a: string, b: string) => Math.sign(Buffer.compare(Buffer.from(a), Buffer.from(b)));
    for (const a of names) for (const b of names) assert.equal(Math.sign(compareUtf8(a, b)), bytes(a, b), `${a} ${b}`);
  });
});
