// The GPUs of this machine, from nvidia-smi and rocminfo. Undefined when neither
// tool is installed: the caller then says it could not check.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import type { Gpu } from "./targets.js";

const run = promisify(execFile);

async function output(cmd: string, args: string[]): Promise<string | undefined> {
  try {
    return (await run(cmd, args, { timeout: 20_000, maxBuffer: 8 * 1024 * 1024 })).stdout;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    // the tool exists but failed (no driver, no device): no GPUs of that kind
    return "";
  }
}

/** `nvidia-smi --query-gpu=compute_cap,name`: "9.0, NVIDIA H100 80GB HBM3" -> cuda/90. */
export function parseNvidiaSmi(text: string): Gpu[] {
  const gpus: Gpu[] = [];
  for (const line of text.split("\n")) {
    const m = /^\s*(\d+)\.(\d+)\s*,\s*(.*?)\s*$/.exec(line);
    if (m) gpus.push({ backend: "cuda", arch: `${m[1]}${m[2]}`, warpSize: 32, name: m[3] as string });
  }
  return gpus;
}

/** rocminfo's agents: `Name: gfx90a` lines; CDNA (gfx9) runs 64-wide waves, RDNA 32 by default. */
export function parseRocminfo(text: string): Gpu[] {
  const gpus: Gpu[] = [];
  for (const m of text.matchAll(/^\s*Name:\s*(gfx[0-9a-f]+)\S*\s*$/gim)) {
    const arch = (m[1] as string).toLowerCase();
    gpus.push({ backend: "hip", arch, warpSize: arch.startsWith("gfx9") ? 64 : 32, name: arch });
  }
  return gpus;
}

export async function detectGpus(): Promise<Gpu[] | undefined> {
  const smi = await output("nvidia-smi", ["--query-gpu=compute_cap,name", "--format=csv,noheader"]);
  const roc = await output("rocminfo", []);
  if (smi === undefined && roc === undefined) return undefined;
  return [...parseNvidiaSmi(smi ?? ""), ...parseRocminfo(roc ?? "")];
}
