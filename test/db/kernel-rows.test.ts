import assert from "node:assert/strict";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { IndexDb } from "../../src/db/index.js";
import { indexRoot } from "../../src/scan/indexer.js";
import { cleanupTemp, extractFixture, tempDir } from "../helpers/fixtures.js";

after(cleanupTemp);

describe("kernel rows", () => {
  for (const fixture of ["triton-cache", "vllm-cache"] as const) {
    it(`${fixture}: a streamed row (read as an array) is the row read as an object, field for field`, async () => {
      const db = new IndexDb(join(tempDir(), "index.db"));
      const root = extractFixture(fixture);
      await indexRoot(db, root, { mode: "auto" });
      const streamed = db.queryKernels({});
      assert.ok(streamed.length > 0);
      for (const k of streamed) {
        const [byObject] = db.kernelsByPrefix(k.key).filter((x) => x.path === k.path);
        assert.deepEqual(k, byObject);
      }
      db.close();
    });
  }
});
