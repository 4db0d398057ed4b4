import assert from "node:assert/strict";
import { chmodSync, mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { McmError } from "../../src/core/errors.js";
import { compareSiblings, FileTree, TOP } from "../../src/pack/file-tree.js";
import { compareUtf8 } from "../../src/pack/name-order.js";
import { cleanupTemp, tempDir } from "../helpers/fixtures.js";

after(cleanupTemp);

// names that start one another, with "." and "-" (below "/"), "0" and "_" (above it),
// non-ASCII, a surrogate pair and U+E000..U+FFFF (where UTF-16 order is not UTF-8's)
const PIECES = ["a", "ab", ".", "-", "0", "_", "é", "😀", "\uE000", "\uFFFD", "~"];

function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function randomName(rand: () => number): string {
  let name = "";
  const n = 1 + Math.floor(rand() * 3);
  for (let i = 0; i < n; i++) name += PIECES[Math.floor(rand() * PIECES.length)];
  return name;
}

/** A random tree of distinct sibling names; every node's whole path, a folder's with "/". */
function randomTree(rand: () => number): { tree: FileTree; paths: string[] } {
  const tree = new FileTree();
  const paths: string[] = [];
  const grow = (parent: number, prefix: string, depth: number) => {
    const used = new Set<string>();
    const n = Math.floor(rand() * 6);
    for (let i = 0; i < n; i++) {
      const name = randomName(rand);
      if (used.has(name)) continue;
      used.add(name);
      const dir = depth < 3 && rand() < 0.5;
      const node = tree.add(parent, name, dir, dir ? 0 : 1);
      paths.push(`${prefix}${name}${dir ? "/" : ""}`);
      if (dir) grow(node, `${prefix}${name}/`, depth + 1);
    }
  };
  grow(TOP, "", 0);
  return { tree, paths };
}

describe("FileTree", () => {
  it("walks in the order of whole paths by their UTF-8 bytes (a folder's with /), for random trees", () => {
    const rand = prng(15);
    for (let t = 0; t < 300; t++) {
      const { tree, paths } = randomTree(rand);
      const walked = [...tree.withPaths()].map(({ node, path }) => `${path}${tree.isDir(node) ? "/" : ""}`);
      const expected = [...paths].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
      assert.deepEqual(walked, expected);
    }
  });

  it("compares siblings as compareUtf8 of their names, a folder's with /", () => {
    const rand = prng(16);
    for (let i = 0; i < 20_000; i++) {
      const a = randomName(rand);
      const b = randomName(rand);
      const aDir = rand() < 0.5;
      const bDir = rand() < 0.5;
      const want = Math.sign(compareUtf8(aDir ? `${a}/` : a, bDir ? `${b}/` : b));
      assert.equal(
        Math.sign(compareSiblings(a, aDir, b, bDir)),
        want,
        `${a}${aDir ? "/" : ""} vs ${b}${bDir ? "/" : ""}`,
      );
    }
  });

  it("gives each node's whole path, and refuses a folder twice or a path whose folder it was never given", () => {
    const tree = new FileTree();
    tree.dir("top");
    const kernel = tree.dir("top/KEY", false);
    const file = tree.add(kernel, "k.cubin", false, 10);
    assert.equal(tree.path(file), "top/KEY/k.cubin");
    assert.equal(tree.path(tree.file("top/m.json", 3)), "top/m.json");
    assert.throws(() => tree.dir("top"), McmError);
    // a folder made unnamed is not one later paths may name
    assert.throws(() => tree.file("top/KEY/other", 1), /was not added/);
  });

  it("walks plain files and folders only, their sizes and exec bits read, the rest skipped with a reason", () => {
    const dir = tempDir();
    mkdirSync(join(dir, "sub"));
    writeFileSync(join(dir, "sub", "run.sh"), "#!/bin/sh\n");
    chmodSync(join(dir, "sub", "run.sh"), 0o755);
    writeFileSync(join(dir, "a.json"), "{}");
    writeFileSync(join(dir, "x.tmp.pid_12_34"), "half");
    writeFileSync(join(dir, ".mcm-index.db"), "");
    symlinkSync("/etc/passwd", join(dir, "sub", "link"));
    const tree = new FileTree();
    const top = tree.dir("c");
    const skipped: string[] = [];
    tree.walk(dir, top, (rel, why) => skipped.push(`${rel}: ${why}`), true);
    const files = [...tree.withPaths()].map(({ node, path }) =>
      tree.isDir(node) ? `${path}/` : `${path} ${tree.size(node)}${tree.isExec(node) ? " x" : ""}`,
    );
    assert.deepEqual(files, ["c/", "c/a.json 2", "c/sub/", "c/sub/run.sh 10 x"]);
    assert.deepEqual(skipped.sort(), [
      "sub/link: a symbolic link (never followed)",
      "x.tmp.pid_12_34: a Triton write in flight or interrupted",
    ]);
    assert.equal(tree.files, 2);
    assert.equal(tree.bytes, 12);
  });
});
