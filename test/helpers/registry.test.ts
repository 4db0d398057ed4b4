// The test registry itself: one that cannot start fails its test at once, with
// its own output, and leaves nothing running (no registry, no token server).
import assert from "node:assert/strict";
import { chmodSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { cleanupTemp, tempDir } from "./fixtures.js";
import { startRegistry } from "./registry.js";
import { missing, TOOLS } from "./tools.js";

after(cleanupTemp);

const servers = () => process.getActiveResourcesInfo().filter((r) => r === "TCPServerWrap").length;

async function withPath<T>(path: string, f: () => Promise<T>): Promise<T> {
  const saved = process.env.PATH;
  process.env.PATH = path;
  try {
    return await f();
  } finally {
    process.env.PATH = saved;
  }
}

describe("test registry", { skip: missing(TOOLS.openssl) }, () => {
  it("a registry that exits at start fails with its own stderr; its token server is stopped", async () => {
    const bin = tempDir();
    writeFileSync(join(bin, "docker-registry"), "#!/bin/sh\necho 'fake registry: bad config line 7' >&2\nexit 3\n");
    chmodSync(join(bin, "docker-registry"), 0o755);
    const before = servers();
    const t0 = Date.now();
    await assert.rejects(
      withPath(`${bin}:${process.env.PATH}`, () => startRegistry({ auth: "token" })),
      /docker-registry exited \(3\): fake registry: bad config line 7/,
    );
    assert.ok(Date.now() - t0 < 10_000, "fails at once, not at a deadline");
    // a closed server leaves the list of active handles a moment after its close callback
    for (let i = 0; i < 20 && servers() > before; i++) await new Promise((r) => setTimeout(r, 50));
    assert.equal(servers(), before, "no server left listening");
  });

  it("a missing docker-registry says so", async () => {
    const bin = tempDir();
    for (const t of ["setpriv", "openssl"]) {
      const real = (process.env.PATH ?? "").split(":").map((d) => join(d, t));
      writeFileSync(
        join(bin, t),
        `#!/bin/sh\nfor p in ${real.join(" ")}; do [ -x "$p" ] && exec "$p" "$@"; done\nexit 127\n`,
      );
      chmodSync(join(bin, t), 0o755);
    }
    await assert.rejects(
      withPath(bin, () => startRegistry()),
      /docker-registry exited \(\d+\): .*docker-registry.*No such file or directory/,
    );
  });
});
