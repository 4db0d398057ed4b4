// Real H100 caches, extracted into a fresh temporary folder per test.
import { execFileSync } from "node:child_process";
import { lstatSync, lutimesSync, mkdtempSync, readdirSync, realpathSync, rmSync, utimesSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const FIXTURES = new URL("../fixtures/", import.meta.url).pathname;

export type FixtureName =
  | "triton-cache"
  | "torchinductor_root"
  | "vllm-cache"
  | "llama-binary-cache"
  | "vllm-standalone"
  | "vllm-unpacked"
  | "vllm-standalone-aotmode"
  | "vllm-aot";

const TARBALL: Record<FixtureName, string> = {
  "triton-cache": "h100-triton-cache.tar.gz",
  torchinductor_root: "h100-torchinductor_root.tar.gz",
  "vllm-cache": "h100-vllm-cache.tar.gz",
  // written by a recent vLLM on a T4, from redhat-et/GKM (see fixtures/README.md)
  "llama-binary-cache": "gkm-llama-vllm-binary-cache.tar.gz",
  // made on an H200 by gpu/make_artifacts.py (PyTorch 2.11 standalone compile and AOT compile)
  "vllm-standalone": "h200-vllm-artifacts.tar.gz",
  "vllm-unpacked": "h200-vllm-artifacts.tar.gz",
  "vllm-standalone-aotmode": "h200-vllm-artifacts.tar.gz",
  "vllm-aot": "h200-vllm-artifacts.tar.gz",
};

const made: string[] = [];

/** A new empty temporary folder (real path), removed by cleanupTemp(). */
export function tempDir(prefix = "mcm-test-"): string {
  const d = realpathSync(mkdtempSync(join(tmpdir(), prefix)));
  made.push(d);
  return d;
}

/**
 * Sets the mtime (and atime) of `path` and everything under it to `ageMs`
 * before this process's clock. A link gets the date itself; what it points at is never touched.
 */
export function setAge(path: string, ageMs: number): void {
  const t = (Date.now() - ageMs) / 1000;
  const walk = (p: string) => {
    const st = lstatSync(p);
    if (st.isSymbolicLink()) {
      lutimesSync(p, t, t);
      return;
    }
    if (st.isDirectory()) for (const e of readdirSync(p)) walk(join(p, e));
    utimesSync(p, t, t);
  };
  walk(path);
}

/** How old fixtures and synthetic kernels are made: an hour, older than prune's in-flight window (a minute). */
export const FIXTURE_AGE_MS = 3_600_000;

/**
 * Extracts a real fixture; returns the path of its top folder. Every file is
 * dated `ageMs` before now (default: an hour ago), never the day the tarball
 * was made, so that ages in tests do not depend on the date they run on.
 */
export function extractFixture(name: FixtureName, into = tempDir(), ageMs = FIXTURE_AGE_MS): string {
  execFileSync("tar", ["xzf", join(FIXTURES, TARBALL[name]), "-C", into]);
  const top = join(into, name);
  setAge(top, ageMs);
  return top;
}

export function cleanupTemp(): void {
  for (const d of made.splice(0)) rmSync(d, { recursive: true, force: true });
}
