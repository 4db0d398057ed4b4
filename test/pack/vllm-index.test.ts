// vllm_compile_cache.py: parsed as a literal (nothing evaluated), its artifact
// paths pointed at its own folder, written back as a literal Python reads the same.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { McmError } from "../../src/core/errors.js";
import { parsePyLiteral, pyRepr, relocateVllmIndex } from "../../src/pack/vllm-index.js";
import { cleanupTemp, extractFixture } from "../helpers/fixtures.js";

after(cleanupTemp);

/** What Python's ast.literal_eval makes of `text`, as JSON (tuples as lists, keys as their repr). */
function pythonReads(text: string): unknown {
  const script = `
import ast, json, sys
v = ast.literal_eval(sys.stdin.read())
print(json.dumps({repr(k): v[k] for k in v}))
`;
  return JSON.parse(execFileSync("python3", ["-c", script], { input: text, encoding: "utf8" }));
}

describe("vllm_compile_cache.py", () => {
  const root = extractFixture("llama-binary-cache");
  const dir = join(root, "torch_compile_cache/edf531ca35/rank_0_0/backbone");
  const text = readFileSync(join(dir, "vllm_compile_cache.py"), "utf8");

  it("GKM's file: its 17 handles point at the folder it is in now; Python reads the rest unchanged", () => {
    const r = relocateVllmIndex(text, dir, () => true);
    assert.ok(r);
    assert.deepEqual([r.rewritten, r.left], [17, 0]);
    const before = pythonReads(text) as Record<string, [string, string]>;
    const now = pythonReads(r.text) as Record<string, [string, string]>;
    assert.deepEqual(Object.keys(now), Object.keys(before), "the same keys, tuples included");
    for (const [k, [name, path]] of Object.entries(now)) {
      assert.equal(name, before[k]?.[0]);
      assert.equal(path, `${dir}/${name}`);
      assert.match(before[k]?.[1] ?? "", /^\/home\/ec2-user\/\.cache\/vllm\//);
    }
    assert.equal(
      relocateVllmIndex(r.text, dir, () => true),
      null,
      "done once: nothing left to change",
    );
  });

  it("a path naming a file the folder lacks is left, and counted", () => {
    const r = relocateVllmIndex(text, dir, (f) => !f.endsWith("_subgraph_3"));
    assert.deepEqual([r?.rewritten, r?.left], [16, 1]);
  });

  it("literals round-trip: implicit concatenation, escapes, nested tuples, None and booleans", () => {
    const src = `{((1, 2), 0, 'x'): ('a' "b", '/p/q\\\\r\\'s'), 'k': [None, True, False, (3,), -4.5]}`;
    const v = parsePyLiteral(src);
    assert.deepEqual(pythonReads(pyRepr(v)), pythonReads(src));
  });

  it("anything but a literal is refused, never evaluated", () => {
    for (const bad of ["__import__('os').system('x')", "{'a': f(1)}", "{'a': 1", "{'a': 1} trailing", "{'a': b'x'}"]) {
      assert.throws(() => parsePyLiteral(bad), McmError, bad);
    }
  });
});
