import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { describe, it } from "node:test";
import { ArchiveTable, DIR, FILE, NONE, SYMLINK, TOP } from "../../src/pack/archive-table.js";

const sha = (s: string) => createHash("sha256").update(s).digest();

describe("ArchiveTable", () => {
  it("finds each path it made, component by component, and gives its whole path back", () => {
    const t = new ArchiveTable();
    // more nodes than its first columns hold, names that repeat from folder to folder
    const paths: string[] = [];
    for (let k = 0; k < 3000; k++) for (const f of ["a.json", "a.cubin"]) paths.push(`K${k}/${f}`);
    const nodes = paths.map((p) => t.ensure(p));
    assert.equal(t.count, 9000);
    paths.forEach((p, i) => {
      assert.equal(t.find(p), nodes[i]);
      assert.equal(t.path(nodes[i] as number), p);
    });
    assert.equal(t.find("K1"), t.parent(nodes[2] as number));
    assert.equal(t.kind(t.find("K1") as number), NONE, "a folder only implied");
    assert.equal(t.find("K1/b.json"), undefined);
    assert.equal(t.find("K9999"), undefined);
    assert.equal(t.find("a.json/K1"), undefined);
    assert.equal(t.ensure("K7/a.json"), t.find("K7/a.json"), "made once");
    const k5 = t.find("K5") as number;
    assert.equal(t.path(nodes[11] as number, k5), "a.cubin", "relative to a folder above it");
  });

  it("keeps an entry's kind, size, exec bit and sha256 apart from its listing's flags", () => {
    const t = new ArchiveTable();
    const f = t.ensure("k/x.bin");
    t.list(f, 3, sha("abc").toString("hex"));
    assert.ok(t.isListed(f) && !t.isSeen(f) && !t.isMatched(f));
    assert.equal(t.size(f), 3);
    assert.ok(t.shaEquals(f, sha("abc")));
    assert.equal(t.shaHex(f), sha("abc").toString("hex"));
    t.entry(f, FILE, 3, true);
    t.setMatched(f);
    assert.ok(t.isListed(f) && t.isSeen(f) && t.isMatched(f) && t.isExec(f), "an entry keeps its listing's flags");
    const g = t.ensure("k/y.bin");
    t.entry(g, FILE, 5, false);
    t.setSha(g, sha("other"));
    assert.ok(!t.shaEquals(g, sha("abc")) && t.shaEquals(g, sha("other")));
    const h = t.ensure("k/z.bin");
    t.copySha(g, h);
    assert.equal(t.shaHex(h), t.shaHex(g));
    assert.ok(!t.isExec(g) && !t.isStaged(g));
    t.setStaged(g);
    assert.ok(t.isStaged(g) && !t.isOut(g));
  });

  it("says when a path goes through a file or a link, never through a folder", () => {
    const t = new ArchiveTable();
    t.entry(t.ensure("d"), DIR, 0, false);
    t.entry(t.ensure("d/f"), FILE, 1, false);
    t.entry(t.ensure("d/l"), SYMLINK, 0, false);
    t.ensure("implied/x");
    assert.equal(t.throughNonDir("d/g"), false);
    assert.equal(t.throughNonDir("d/f/g"), true);
    assert.equal(t.throughNonDir("d/l/g/h"), true);
    assert.equal(t.throughNonDir("implied/x/y"), false, "a node only listed or implied is no file yet");
    assert.equal(t.throughNonDir("nothing/here"), false);
  });

  it("gives each node's children once frozen, and makes no node after", () => {
    const t = new ArchiveTable();
    const a = t.ensure("a/1");
    const b = t.ensure("b");
    const a2 = t.ensure("a/2");
    t.freeze();
    const top = [...t.children(TOP)].map((n) => t.name(n));
    assert.deepEqual(top, ["a", "b"]);
    assert.deepEqual([...t.children(t.find("a") as number)], [a, a2]);
    assert.deepEqual([...t.children(b)], []);
    assert.throws(() => t.ensure("c"), /frozen/);
  });
});
