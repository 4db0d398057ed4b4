// Named pauses at the steps where mcm races other processes, so that a test
// can act at that exact moment (as FoundationDB's and TiKV's failpoints do).
// Off unless MCM_FAILPOINTS names the point and MCM_FAILPOINT_DIR is set: the
// n-th time a point is reached, mcm writes <dir>/<name>.<n>.reached and waits
// (30 s at most) for <dir>/<name>.<n>.go.
import { existsSync, writeFileSync } from "node:fs";

const enabled = new Set((process.env.MCM_FAILPOINTS ?? "").split(",").filter(Boolean));
const reached = new Map<string, number>();
const sleeper = new Int32Array(new SharedArrayBuffer(4));

export function failpoint(name: string): void {
  const dir = process.env.MCM_FAILPOINT_DIR;
  if (!enabled.has(name) || !dir) return;
  const n = (reached.get(name) ?? 0) + 1;
  reached.set(name, n);
  writeFileSync(`${dir}/${name}.${n}.reached`, "");
  const deadline = Date.now() + 30_000;
  while (!existsSync(`${dir}/${name}.${n}.go`) && Date.now() < deadline) Atomics.wait(sleeper, 0, 0, 5);
}
