import type { Backend } from "./backend.js";
import { cpu } from "./cpu.js";
import { cuda } from "./cuda.js";
import { hip } from "./hip.js";
import { xpu } from "./xpu.js";

export type { Backend } from "./backend.js";
export { IR_EXTS } from "./backend.js";

export const BACKENDS: readonly Backend[] = [cuda, hip, xpu, cpu];

const BY_NAME = new Map<string, Backend>(BACKENDS.map((b) => [b.name, b]));
// names older Triton versions and forks use for the same backends
BY_NAME.set("rocm", hip).set("amd", hip).set("nvidia", cuda).set("intel", xpu);

export function backendByName(name: string | undefined | null): Backend | undefined {
  return name ? BY_NAME.get(name.toLowerCase()) : undefined;
}

/** The backend whose binary this file extension is, if any. */
export function backendByBinaryExt(ext: string): Backend | undefined {
  return BACKENDS.find((b) => b.binaryExts.includes(ext));
}
