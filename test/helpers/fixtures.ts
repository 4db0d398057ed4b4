// Real H100 caches, extracted into a fresh temporary folder per test.
import { execFileSync } from "node:child_process";
import { mkdtempSync, realpathSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const FIXTURES = new URL("../fixtures/", import.meta.url).pathname;

export type FixtureName = "triton-cache" | "torchinductor_root" | "vllm-cache";

const TARBALL: Record<FixtureName, string> = {
  "triton-cache": "h100-triton-cache.tar.gz",
  torchinductor_root: "h100-torchinductor_root.tar.gz",
  "vllm-cache": "h100-vllm-cache.tar.gz",
};

const made: string[] = [];

/** A new empty temporary folder (real path), removed by cleanupTemp(). */
export function tempDir(prefix = "mcm-test-"): string {
  const d = realpathSync(mkdtempSync(join(tmpdir(), prefix)));
  made.push(d);
  return d;
}

/** Extracts a real fixture; returns the path of its top folder. */
export function extractFixture(name: FixtureName, into = tempDir()): string {
  execFileSync("tar", ["xzf", join(FIXTURES, TARBALL[name]), "-C", into]);
  return join(into, name);
}

export function cleanupTemp(): void {
  for (const d of made.splice(0)) rmSync(d, { recursive: true, force: true });
}
