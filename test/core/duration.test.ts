import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseDuration } from "../../src/core/duration.js";
import { McmError } from "../../src/core/errors.js";

describe("parseDuration", () => {
  it("reads the units the original accepted, and more", () => {
    assert.equal(parseDuration("90m"), 90 * 60_000);
    assert.equal(parseDuration("12h"), 12 * 3_600_000);
    assert.equal(parseDuration("7d"), 7 * 86_400_000);
    assert.equal(parseDuration("2w"), 14 * 86_400_000);
    assert.equal(parseDuration("30s"), 30_000);
    assert.equal(parseDuration("1.5d"), 1.5 * 86_400_000);
    assert.equal(parseDuration("7D"), 7 * 86_400_000);
  });

  it("rejects anything else with a clear message", () => {
    for (const bad of ["7", "d", "7 days", "-1d", "7y", ""]) {
      assert.throws(
        () => parseDuration(bad),
        (e: unknown) => e instanceof McmError && /invalid duration/.test(e.message),
      );
    }
  });
});
