import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseWholeNumber, refuseEmpty } from "../../src/core/flags.js";
import { jsonTooDeep, MAX_JSON_DEPTH } from "../../src/core/json-depth.js";
import { shortenLongRuns, shortPath } from "../../src/core/short-path.js";

describe("edge helpers", () => {
  it("parseWholeNumber: safe integers only", () => {
    assert.equal(parseWholeNumber("--n", " 42 "), 42);
    assert.equal(parseWholeNumber("--n", String(Number.MAX_SAFE_INTEGER)), Number.MAX_SAFE_INTEGER);
    assert.throws(
      () => parseWholeNumber("--n", String(Number.MAX_SAFE_INTEGER + 1)),
      /--n 9007199254740992 is too big/,
    );
    for (const bad of ["", "-1", "1.5", "1e3", "0x10"])
      assert.throws(() => parseWholeNumber("--n", bad), /whole number/);
  });

  it("refuseEmpty: only the empty string", () => {
    assert.throws(() => refuseEmpty("--db", ""), /^McmError: --db is empty \(an unset variable\?\)$/);
    refuseEmpty("--db", undefined);
    refuseEmpty("--db", " ");
  });

  it("shortPath keeps head and tail; shortenLongRuns only touches long runs", () => {
    const p = `/${"a".repeat(300)}/${"z".repeat(300)}`;
    const s = shortPath(p);
    assert.equal(s.length, 200);
    assert.ok(s.startsWith("/aaa") && s.endsWith("zzz") && s.includes("…"));
    assert.equal(shortPath("/short"), "/short");
    assert.equal(shortenLongRuns(`cannot read ${p} (gone)`), `cannot read ${s} (gone)`);
  });

  it("jsonTooDeep counts nesting outside strings", () => {
    const nest = (n: number) => `${"[".repeat(n)}${"]".repeat(n)}`;
    assert.equal(jsonTooDeep(nest(MAX_JSON_DEPTH)), false);
    assert.equal(jsonTooDeep(nest(MAX_JSON_DEPTH + 1)), true);
    assert.equal(jsonTooDeep(JSON.stringify({ s: "[".repeat(1000), t: '\\"[[[' })), false);
  });
});
