import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { KernelFile } from "../../src/core/types.js";
import {
  type Candidate,
  type DuplicateGroup,
  planDeduplicate,
  planFull,
  planIrOnly,
  planMaxSize,
} from "../../src/prune/plan.js";

const DAY = 86_400_000;
const NOW = 100 * DAY;

function kernel(key: string, over: Partial<Candidate> = {}): Candidate {
  const files: KernelFile[] = [
    { name: "k.json", kind: "metadata", size: 100 },
    { name: "__grp__k.json", kind: "group", size: 50 },
    { name: "k.cubin", kind: "binary", size: 1000 },
    { name: "k.ttir", kind: "ir", size: 200 },
    { name: "k.llir", kind: "ir", size: 300 },
    { name: "k.ptx", kind: "asm", size: 400 },
  ];
  return {
    path: `/c/${key}`,
    root: "/c",
    container: "/c",
    layout: "triton",
    key,
    name: "k",
    backend: "cuda",
    arch: "90",
    warpSize: 32,
    numWarps: 4,
    numStages: 3,
    numCtas: 1,
    shared: 0,
    tritonVersion: "3.6.0",
    totalSize: 2050,
    irSize: 500,
    asmSize: 400,
    fileCount: 6,
    modifiedTime: NOW - DAY,
    staleGroupPaths: false,
    warnings: [],
    firstSeen: 0,
    hits: 0,
    misses: 0,
    lastAccess: null,
    vllmHash: null,
    rank: null,
    prefix: null,
    embedded: 0,
    files,
    liveWriter: null,
    ...over,
  };
}

describe("prune plans", () => {
  it("IR-only names only IR files, assembly only with asm; never metadata, group or binary", () => {
    const p = planIrOnly([kernel("A")], { now: NOW, asm: false });
    assert.deepEqual(p.entries[0]?.files, ["k.ttir", "k.llir"]);
    assert.equal(p.bytes, 500);
    const q = planIrOnly([kernel("A")], { now: NOW, asm: true });
    assert.deepEqual(q.entries[0]?.files, ["k.ttir", "k.llir", "k.ptx"]);
    assert.equal(q.bytes, 900);
    assert.equal(
      planIrOnly([kernel("A", { files: kernel("A").files.slice(0, 3) })], { now: NOW, asm: true }).entries.length,
      0,
    );
  });

  it("live writers and --keep-recent protect a kernel, with the reason", () => {
    const p = planFull([kernel("A", { liveWriter: 4242 }), kernel("B", { modifiedTime: NOW - 1000 }), kernel("C")], {
      now: NOW,
      keepRecentMs: DAY / 2,
    });
    assert.deepEqual(
      p.entries.map((e) => e.hash),
      ["C"],
    );
    assert.deepEqual(
      p.skipped.map((s) => [s.hash, s.reason]),
      [
        ["A", "a Triton process (pid 4242) is writing this kernel"],
        ["B", "used or written recently (--keep-recent)"],
      ],
    );
  });

  it("max-size evicts least recently used first (last hit over mtime) until each root fits", () => {
    const ks = [
      kernel("old-but-hit", { modifiedTime: NOW - 50 * DAY, lastAccess: NOW - DAY }),
      kernel("older", { modifiedTime: NOW - 40 * DAY }),
      kernel("newest", { modifiedTime: NOW - 2 * DAY }),
      kernel("other-root", { root: "/d", path: "/d/x", modifiedTime: NOW - 90 * DAY }),
    ];
    const p = planMaxSize(ks, 2 * 2050, { now: NOW });
    assert.deepEqual(
      p.entries.map((e) => e.hash),
      ["older"],
    );
    const q = planMaxSize(ks, 2050, { now: NOW });
    assert.deepEqual(
      q.entries.map((e) => e.hash),
      ["older", "newest"],
    );
    const all = planMaxSize(ks, 0, { now: NOW, keepRecentMs: 3 * DAY });
    assert.deepEqual(all.entries.map((e) => e.hash).sort(), ["older", "other-root"]);
    assert.equal(all.skipped.length, 2);
  });

  it("deduplicate: each cache root is its own working set; only links act across roots", () => {
    const at = (root: string, key: string, age: number) =>
      kernel(key, { root, path: `${root}/${key}`, modifiedTime: NOW - age * DAY });
    const a1 = at("/a", "A1", 1);
    const b1 = at("/b", "B1", 2);
    const b2 = at("/b", "B2", 3);
    const files = [{ file: "k.cubin", size: 1000 }];
    const linkable = new Map([b1, b2].map((k) => [k.path, files]));
    const group: DuplicateGroup = { kernels: [b2, a1, b1], linkable };
    const removed = planDeduplicate([group], { now: NOW, link: false });
    assert.deepEqual(
      removed.entries.map((e) => [e.root, e.hash, e.action]),
      [["/b", "B2", "remove-kernel"]],
      "B2 goes for B1, the newest copy in its own root; A1 keeps /a's only copy, and B1 is not removed for it",
    );
    assert.match(removed.entries[0]?.reason as string, /same binary and metadata as B1 \(\/b\/B1\)/);
    const lone = planDeduplicate([{ kernels: [a1, b1], linkable }], { now: NOW, link: false });
    assert.deepEqual(lone.entries, [], "one copy in each root: nothing to remove");
    const linked = planDeduplicate([group], { now: NOW, link: true });
    assert.deepEqual(
      linked.entries.map((e) => [e.root, e.hash, e.action, e.links?.map((l) => l.target)]),
      [
        ["/b", "B1", "link-files", ["/a/A1/k.cubin"]],
        ["/b", "B2", "link-files", ["/a/A1/k.cubin"]],
      ],
    );
  });
});
