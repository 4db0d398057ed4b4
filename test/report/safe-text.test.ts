import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { REDACTED, redactEnv, SECRET_NAME } from "../../src/report/redact.js";
import { safeLines, safeText } from "../../src/report/safe-text.js";

describe("safeText", () => {
  it("escapes C0, DEL, C1, line separators and bidi overrides; leaves other text alone", () => {
    assert.equal(safeText("a\u001b]0;pwned\u0007\nb\r\t"), "a\\x1b]0;pwned\\x07\\nb\\r\\t");
    assert.equal(safeText("\u0000\u007f\u009b\u2028\u202e\u2066"), "\\x00\\x7f\\x9b\\u2028\\u202e\\u2066");
    assert.equal(safeText("softmax_kernel é 内核 [x]"), "softmax_kernel é 内核 [x]");
    assert.equal(safeLines('{\n  "a": "\u009b"\n}'), '{\n  "a": "\\x9b"\n}');
  });
});

describe("redactEnv", () => {
  it("redacts values of secret-looking names and hidden ones; keeps the rest", () => {
    for (const k of [
      "HF_TOKEN",
      "VLLM_API_KEY",
      "aws_secret_access_key",
      "DB_PASSWORD",
      "PGPASSWD",
      "GIT_AUTH",
      "X_PASS",
    ]) {
      assert.ok(SECRET_NAME.test(k), k);
    }
    for (const k of ["VLLM_CACHE_ROOT", "MCM_WARM_MODEL", "TRITON_CACHE_DIR", "PATH", "BYPASS_X"]) {
      assert.ok(!SECRET_NAME.test(k), k);
    }
    assert.deepEqual(redactEnv({ A: "1", MY_TOKEN: "t", HF_TOKEN: null }), {
      A: "1",
      MY_TOKEN: REDACTED,
      HF_TOKEN: REDACTED,
    });
  });
});
