import assert from "node:assert/strict";
import { readFileSync, renameSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { cacheEntryFiles, codePathAt, rootFreeDigest } from "../../src/pack/inductor-paths.js";
import { applyRelocate, emptyPlan, planInductorEntries } from "../../src/pack/relocate.js";
import { cleanupTemp, extractFixture, tempDir } from "../helpers/fixtures.js";
import { fileDigests } from "../helpers/tree.js";

after(cleanupTemp);

describe("codePathAt", () => {
  it("moves exactly a code path: <root>/<two characters>/<file>.py or .best_config", () => {
    assert.equal(codePathAt("/old/root/ab/cxyz.py", "/new"), "/new/ab/cxyz.py");
    assert.equal(codePathAt("/old/root/2a/eadf.best_config", "/new"), "/new/2a/eadf.best_config");
    for (const s of [
      "/new/ab/cxyz.py", // already here
      "# kernel path: /old/root/ab/cxyz.py", // text that mentions one
      "/old/root/abc/cxyz.py", // not a two-character folder
      "/old/root/ab/cxyz.txt",
      "relative/ab/cxyz.py",
      "/old/root/ab/cxyz.py\nmore",
      "/old/root/ab/sub/cxyz.py",
    ]) {
      assert.equal(codePathAt(s, "/new"), undefined, s);
    }
  });
});

describe("Inductor entries", () => {
  it("an entry changed since the plan was made is skipped, and left as it is", () => {
    const root = extractFixture("torchinductor_root");
    const plan = emptyPlan();
    planInductorEntries(plan, [root]);
    assert.equal(plan.inductorEntries, 3);
    const [first] = plan.entries;
    const changed = Buffer.concat([readFileSync(first?.groupFile as string), Buffer.from("x")]);
    writeFileSync(first?.groupFile as string, changed);
    const done = applyRelocate(plan, root);
    assert.equal(done.inductorEntries, 2);
    assert.deepEqual(done.skipped, [{ path: first?.groupFile, reason: "changed since the plan was made" }]);
    assert.deepEqual(readFileSync(first?.groupFile as string), changed);
  });

  it("a planted link for fxgraph/ or aotautograd/ is never followed: what it points at is left as it was", () => {
    const root = extractFixture("torchinductor_root");
    const outside = tempDir();
    for (const d of ["fxgraph", "aotautograd"]) {
      renameSync(join(root, d), join(outside, d));
      symlinkSync(join(outside, d), join(root, d));
    }
    const before = fileDigests(outside);
    const plan = emptyPlan();
    planInductorEntries(plan, [root]);
    assert.equal(plan.inductorEntries, 0);
    assert.deepEqual(cacheEntryFiles(root), []);
    assert.deepEqual(fileDigests(outside), before);
  });

  it("two copies relocated to different roots have one root-free digest; another entry has another", () => {
    const a = extractFixture("torchinductor_root");
    const b = extractFixture("torchinductor_root");
    for (const root of [a, b]) {
      const plan = emptyPlan();
      planInductorEntries(plan, [root]);
      applyRelocate(plan, root);
    }
    const digests = (root: string) =>
      cacheEntryFiles(root)
        .sort()
        .map((f) => rootFreeDigest(readFileSync(f)));
    assert.deepEqual(digests(a), digests(b));
    assert.equal(new Set(digests(a)).size, 5, "each entry its own");
  });
});
