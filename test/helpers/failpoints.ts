// Drives src/failpoint.ts from a test: run mcm with failpointEnv(), wait until
// it reached a point, act (the race), then let it go on.
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export function failpointEnv(dir: string, ...names: string[]): Record<string, string> {
  return { MCM_FAILPOINTS: names.join(","), MCM_FAILPOINT_DIR: dir };
}

/** Waits until mcm is paused at the n-th passage of `name`; false if it never got there. */
export async function reached(dir: string, name: string, n = 1, timeoutMs = 30_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!existsSync(join(dir, `${name}.${n}.reached`))) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 5));
  }
  return true;
}

export function release(dir: string, name: string, n = 1): void {
  writeFileSync(join(dir, `${name}.${n}.go`), "");
}
