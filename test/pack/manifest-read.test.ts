// The manifest read as its bytes arrive (pack/manifest-read.ts): whatever the
// chunks and the JSON layout, the same value as JSON.parse of the whole text;
// anything JSON.parse would refuse, or mcm cannot trust, one clear error.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { McmError } from "../../src/core/errors.js";
import { type Manifest, manifestText } from "../../src/pack/manifest.js";
import { MAX_MANIFEST_PIECE, ManifestReader, parseManifest } from "../../src/pack/manifest-read.js";

const SHA = "a".repeat(64);

/** Names that a scanner could trip on: quotes, escapes, brackets, commas, multi-byte characters. */
function sample(): Manifest {
  const odd = ['q"uo,te', "back\\slash\\", "br[ack]{et}", "é漢字🙂", "line\u2028sep", "ctl\u0001", '\\\\"'];
  return {
    format: "mcm-archive",
    formatVersion: 1,
    layout: "triton",
    scope: "cache",
    sourceRoot: '/root/.triton/"cache"',
    kernels: odd.map((n, i) => ({ path: `K${i}`, name: n, backend: "cuda", arch: "90", tritonVersion: null })),
    files: odd.map((n, i) => ({ path: `K${i}/${n}.json`, size: i * 1000, sha256: SHA })),
    totals: { kernels: odd.length, files: odd.length, bytes: 21000 },
  };
}

function readInChunks(bytes: Buffer, size: number): Manifest {
  const r = new ManifestReader();
  for (let i = 0; i < bytes.length; i += size) r.write(bytes.subarray(i, i + size));
  return r.end();
}

const refusal = (text: string) => {
  try {
    parseManifest(text);
  } catch (e) {
    assert.ok(e instanceof McmError, String(e));
    assert.ok(!e.message.includes("\n"), e.message);
    return e.message;
  }
  return assert.fail(`read without complaint: ${text.length} characters`);
};

describe("manifest reader", () => {
  it("reads what export writes, in chunks of every size, as JSON.parse reads it whole", () => {
    const m = sample();
    const text = [...manifestText(m)].join("");
    const bytes = Buffer.from(text);
    for (const size of [1, 2, 3, 7, 64, 4096, bytes.length]) assert.deepEqual(readInChunks(bytes, size), m, `${size}`);
    // any other JSON layout of the same value too
    for (const other of [JSON.stringify(m), JSON.stringify(m, null, "\t"), ` \r\n${JSON.stringify(m, null, 4)}\n\n`])
      assert.deepEqual(readInChunks(Buffer.from(other), 5), JSON.parse(other));
    assert.deepEqual(parseManifest(JSON.stringify({ ...m, files: [], kernels: [] })).files, []);
  });

  it("refuses what is not one JSON object, with the reason", () => {
    const m = JSON.stringify(sample());
    const cases: [string, RegExp][] = [
      ["", /Unexpected end of JSON input/],
      ["[]", /not a JSON object/],
      [m.slice(0, -1), /Unexpected end of JSON input/],
      [`${m} {}`, /more text after the manifest/],
      [m.replace('"files":[', '"files":[,'), /JSON|Unexpected/],
      [m.replace(/\}\],"totals"/, '},],"totals"'), /JSON|Unexpected/],
      [m.replace('"scope":"cache",', '"scope":"cache" '), /Unexpected/],
      [m.replace('"files":[', '"files":[] ['), /expected "," or "}" after "files"/],
      [m.replace('"scope":', '"scope" '), /expected ":" after "scope"/],
      [m.replace('"format":', "format:"), /expected a field name/],
      [m.replace(/\}\],"totals"/, '}}],"totals"'), /unexpected "}" in "files"/],
      [m.replace('"cache"', '"cache"]'), /unexpected "]" after "scope"/],
      [m.replace('"scope":"cache"', '"scope":"cache","files":[]'), /"files" appears twice/],
      [m.replace('"sha256":"a', '"sha256":"A'), /bad file record/],
      [m.replace('"size":0', '"size":-1'), /bad file record/],
      [m.replace('"triton"', '"tensorflow"'), /unknown layout "tensorflow"/],
      [m.replace('"formatVersion":1', '"formatVersion":2'), /format version 2; this mcm reads version 1/],
      [m.replace('"mcm-archive"', '"other"'), /not an mcm archive manifest/],
      [m.replace(/"kernels":\[[\s\S]*?\],"files"/, '"files"'), /no file or kernel list/],
      [m.replace('"files":[', `"files":[${"[".repeat(70)}${"]".repeat(70)},`), /JSON nested deeper than 64 levels/],
    ];
    for (const [i, [text, why]] of cases.entries()) {
      assert.notEqual(text, m, `case ${i} changes nothing`);
      assert.match(refusal(text), why, `case ${i}`);
    }
  });

  it("holds no piece past its cap, and no manifest past the reader's cap", () => {
    const m = sample();
    const long = JSON.stringify({ ...m, sourceRoot: "x".repeat(MAX_MANIFEST_PIECE + 10) });
    assert.match(refusal(long), /a record longer than 1 MiB/);
    // the cap counts bytes as they come: refused in the middle, not after reading it all
    const r = new ManifestReader(1000);
    const bytes = Buffer.from(JSON.stringify({ ...m, files: Array(50).fill(m.files[0]) }));
    assert.ok(bytes.length > 2000);
    let written = 0;
    assert.throws(() => {
      for (let i = 0; i < bytes.length; i += 100, written += 100) r.write(bytes.subarray(i, i + 100));
    }, /over the 0\.0009\d* MiB cap/);
    assert.equal(written, 1000);
  });
});
