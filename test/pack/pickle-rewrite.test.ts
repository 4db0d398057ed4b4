import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { describe, it } from "node:test";
import { rewritePickleStrings } from "../../src/pack/pickle-rewrite.js";
import { PickleError, readPickle } from "../../src/scan/pickle.js";

/** A pickle Python writes, as bytes. */
function pickled(expr: string, protocol = 4): Buffer {
  const code = `import pickle, sys\nsys.stdout.buffer.write(pickle.dumps(${expr}, protocol=${protocol}))`;
  return execFileSync("python3", ["-c", code], { maxBuffer: 1 << 28 });
}

/**
 * What Python reads back from `data`, as its repr: the C unpickler, and the pure-Python
 * one, which (unlike the C one reading from memory) checks every frame's length.
 */
function unpickled(data: Uint8Array): string {
  const code = `import io, pickle, sys
data = sys.stdin.buffer.read()
a, b = pickle.loads(data), pickle._Unpickler(io.BytesIO(data)).load()
assert a == b
print(repr(a))`;
  return execFileSync("python3", ["-c", code], { input: data }).toString().trim();
}

const toNew = (s: string) => (s.startsWith("/old/") ? `/a/much/longer/new/root/${s.slice(5)}` : undefined);

describe("rewritePickleStrings", () => {
  it("changes only the strings asked for; Python reads the rest unchanged, memo reuse included", () => {
    // the same string twice: the second is a memo reference to the first
    const expr = `(lambda p: {'filename': p, 'again': p, 'other': '/elsewhere/x.py', 'n': 3, 'b': b'/old/bytes'})('/old/ab/k.py')`;
    const r = rewritePickleStrings(pickled(expr), toNew);
    assert.equal(r.changed, 1, "one opcode holds the string; the reference follows it");
    assert.equal(
      unpickled(r.data),
      "{'filename': '/a/much/longer/new/root/ab/k.py', 'again': '/a/much/longer/new/root/ab/k.py', 'other': '/elsewhere/x.py', 'n': 3, 'b': b'/old/bytes'}",
    );
  });

  it("recomputes frame lengths across many frames and big byte strings written outside them", () => {
    // 200k paths: dozens of 64 KiB frames; 100 KiB byte strings go between frames
    const expr = `[('/old/%02d/k%d.py' % (i % 100, i), b'x' * (100_000 if i % 50_000 == 0 else 1)) for i in range(200_000)]`;
    const data = pickled(expr);
    const r = rewritePickleStrings(data, toNew);
    assert.equal(r.changed, 200_000);
    const check = `import io, pickle, sys
v = pickle._Unpickler(io.BytesIO(sys.stdin.buffer.read())).load()
ok = all(p == '/a/much/longer/new/root/%02d/k%d.py' % (i % 100, i) and len(b) == (100_000 if i % 50_000 == 0 else 1) for i, (p, b) in enumerate(v))
print(len(v), ok)`;
    assert.equal(execFileSync("python3", ["-c", check], { input: r.data }).toString().trim(), "200000 True");
  });

  it("switches to a longer opcode when a string passes 255 bytes", () => {
    const long = `/a/${"d".repeat(300)}/`;
    const r = rewritePickleStrings(pickled("['/old/ab/k.py', 1]"), (s) =>
      s.startsWith("/old/") ? long + s.slice(5) : undefined,
    );
    assert.equal(unpickled(r.data), `['${long}ab/k.py', 1]`);
  });

  it("leaves protocol 2 and 5 pickles readable, and returns the input itself when nothing changes", () => {
    for (const proto of [2, 5]) {
      const data = pickled("{'f': '/old/ab/k.py', 't': (1.5, None, True)}", proto);
      assert.equal(
        unpickled(rewritePickleStrings(data, toNew).data),
        "{'f': '/a/much/longer/new/root/ab/k.py', 't': (1.5, None, True)}",
      );
      const same = rewritePickleStrings(data, () => undefined);
      assert.equal(same.changed, 0);
      assert.equal(same.data, data);
    }
  });

  it("refuses what it cannot walk: truncated, unknown opcodes, no STOP", () => {
    const data = pickled("{'f': '/old/ab/k.py'}");
    for (const bad of [
      data.subarray(0, data.length - 3),
      Buffer.concat([data.subarray(0, 14), Buffer.from([0xff])]),
      data.subarray(0, data.length - 1),
    ]) {
      assert.throws(() => rewritePickleStrings(bad, toNew), PickleError);
    }
  });

  it("agrees with mcm's own pickle reader on what it wrote", () => {
    const r = rewritePickleStrings(pickled("{'f': '/old/ab/k.py', 'g': ['/old/cd/x.best_config']}"), toNew);
    const v = readPickle(r.data) as Map<string, unknown>;
    assert.equal(v.get("f"), "/a/much/longer/new/root/ab/k.py");
    assert.deepEqual(v.get("g"), ["/a/much/longer/new/root/cd/x.best_config"]);
  });
});
