import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { jsonElement, StreamedArray, writeJsonArray, writeJsonObject } from "../../src/report/stream.js";
import { streamTable, table } from "../../src/report/table.js";

const collect = (f: (write: (s: string) => void) => void) => {
  const parts: string[] = [];
  f((s) => parts.push(s));
  return { text: parts.join(""), writes: parts.length };
};

describe("streamed output", () => {
  it("a JSON array written item by item is what JSON.stringify(array, null, 2) prints", () => {
    const dated = { toJSON: () => "2026-12-02" };
    const shapes = [
      [],
      [{ a: 1 }],
      [{ a: [1, { b: "x\ny" }], c: null }, 2, "s", { d: {} }],
      [{}, [], [[1, 2], { e: [] }], null, true, { f: undefined, g: 1.5, h: -0, i: '\u2028"' }],
      [{ when: dated, list: [dated] }, dated],
    ];
    for (const items of shapes) {
      assert.equal(collect((w) => writeJsonArray(items, w)).text, `${JSON.stringify(items, null, 2)}\n`);
    }
  });

  it("an object with streamed arrays is what JSON.stringify(object, null, 2) prints", () => {
    const arrays = [[], [{ a: 1 }], [{ a: [1, { b: "x\ny" }], c: null }, 2, "s", { d: {} }], [[], [[1]], {}]];
    for (const items of arrays) {
      const plain = { mode: "ir-only", n: 3, nested: { x: [1, { y: "z" }] }, empty: {}, none: null };
      const fields: [string, unknown][] = [
        ...Object.entries(plain),
        ["entries", new StreamedArray(() => items.map((i) => jsonElement(i, 2)))],
        ["after", [1, 2]],
        ["again", new StreamedArray(() => [])],
      ];
      const expected = { ...plain, entries: items, after: [1, 2], again: [] };
      assert.equal(collect((w) => writeJsonObject(fields, w)).text, `${JSON.stringify(expected, null, 2)}\n`);
    }
  });

  it("a big array goes out in chunks, not in one write", () => {
    const items = Array.from({ length: 20_000 }, (_, i) => ({ i, name: "k".repeat(100) }));
    const out = collect((w) => writeJsonArray(items, w));
    assert.ok(out.writes > 1, `${out.writes} writes`);
    assert.deepEqual(JSON.parse(out.text), items);
  });

  it("a streamed table is the table, with the same widths, read twice", () => {
    const head = ["A", "LONGER", "N"];
    const rows = [
      ["x", "y", 1],
      ["a much longer cell", "", 12345],
    ];
    let reads = 0;
    const text = collect((w) =>
      streamTable(
        head,
        () => {
          reads++;
          return rows;
        },
        [2],
        w,
      ),
    ).text;
    assert.equal(text, `${table(head, rows, [2])}\n`);
    assert.equal(reads, 2);
  });
});
