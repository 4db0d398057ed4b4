import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { SECRET_NAME } from "../../src/report/redact.js";

const python = (file: string) => {
  const text = readFileSync(new URL(`../../python/${file}`, import.meta.url), "utf8");
  return /SECRET = re\.compile\(\s*r"([^"]+)"/.exec(text)?.[1];
};

describe("secret names", () => {
  it("the warm script and the probe redact the same names as mcm's --dry-run", () => {
    for (const f of ["mcm_warm.py", "mcm_probe.py"]) assert.equal(python(f), SECRET_NAME.source, f);
  });

  it("names that hold secrets match; plain ones do not", () => {
    for (const n of ["HF_TOKEN", "VLLM_API_KEY", "DB_PASSWORD", "AWS_SECRET_ACCESS_KEY", "PGPASSWORD", "MY_PASS"])
      assert.ok(SECRET_NAME.test(n), n);
    for (const n of ["VLLM_CACHE_ROOT", "TRITON_CACHE_DIR", "PASSTHROUGH_MODE"]) assert.ok(!SECRET_NAME.test(n), n);
  });
});
