import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { McmError } from "../../../src/core/errors.js";
import { apiHost, manifestRef, parseRef } from "../../../src/pack/oci/ref.js";

describe("parseRef", () => {
  it("reads the registry only when the first part has a dot, a colon or is localhost (docker's rule)", () => {
    assert.deepEqual(parseRef("quay.io/org/cache:v1"), {
      registry: "quay.io",
      repository: "org/cache",
      tag: "v1",
      digest: undefined,
    });
    assert.deepEqual(parseRef("127.0.0.1:5000/x/y"), {
      registry: "127.0.0.1:5000",
      repository: "x/y",
      tag: "latest",
      digest: undefined,
    });
    assert.equal(parseRef("localhost/cache").registry, "localhost");
    assert.equal(parseRef("localhost:5000/cache:t").registry, "localhost:5000");
    assert.deepEqual(parseRef("org/cache"), {
      registry: "docker.io",
      repository: "org/cache",
      tag: "latest",
      digest: undefined,
    });
  });

  it("adds library/ to one-part Docker Hub names and talks to registry-1.docker.io", () => {
    const r = parseRef("busybox");
    assert.equal(r.repository, "library/busybox");
    assert.equal(apiHost(r), "registry-1.docker.io");
    assert.equal(parseRef("index.docker.io/library/busybox").registry, "docker.io");
  });

  it("keeps a digest, with or without a tag, and fetches by the digest", () => {
    const d = `sha256:${"a".repeat(64)}`;
    const r = parseRef(`quay.io/x/y:v2@${d}`);
    assert.equal(r.tag, "v2");
    assert.equal(r.digest, d);
    assert.equal(manifestRef(r), d);
    assert.equal(parseRef(`quay.io/x/y@${d}`).tag, undefined);
  });

  it("refuses malformed references with one clear error", () => {
    for (const bad of ["", "Quay.io/UPPER/x", "x/y:bad tag", "x@sha256:1234", "x//y", "-x"]) {
      assert.throws(() => parseRef(bad), McmError, bad);
    }
  });
});
