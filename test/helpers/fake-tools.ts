// Stand-ins for nvidia-smi, rocminfo, amd-smi and python3. This machine has no GPU
// (and no Triton), so the machine probe is tested against small shell scripts put
// alone on PATH: the one place a test double is allowed here.
import { chmodSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tempDir } from "./fixtures.js";

/** A folder holding one executable per entry: name -> shell script body. */
export function fakeTools(tools: Record<string, string>): string {
  const dir = tempDir("mcm-fake-tools-");
  for (const [name, body] of Object.entries(tools)) {
    const p = join(dir, name);
    writeFileSync(p, `#!/bin/sh\n${body}\n`);
    chmodSync(p, 0o755);
  }
  return dir;
}

/** A tool that prints `text` on stdout and exits with `code`. */
export function prints(text: string, code = 0): string {
  return `/bin/cat <<'EOF_FAKE'\n${text}\nEOF_FAKE\nexit ${code}`;
}

export const H100 = prints("NVIDIA H100 80GB HBM3, 9.0");
export const TRITON_360 = prints("3.6.0");

/** rocminfo as ROCm 6 prints it: a CPU agent, then GPU agents with ISA blocks. */
export function rocminfo(gpus: { gfx: string; market: string; wave?: number }[]): string {
  const cpu = `*******\nAgent 1\n*******\n  Name:                    AMD EPYC 7763 64-Core Processor\n  Marketing Name:          AMD EPYC 7763 64-Core Processor\n  Device Type:             CPU\n`;
  const gpu = (g: { gfx: string; market: string; wave?: number }, i: number) =>
    `*******\nAgent ${i + 2}\n*******\n  Name:                    ${g.gfx}\n  Uuid:                    GPU-${i}\n  Marketing Name:          ${g.market}\n  Vendor Name:             AMD\n  Device Type:             GPU\n  Wavefront Size:          ${g.wave ?? 64}(0x40)\n  ISA Info:\n    ISA 1\n      Name:                    amdgcn-amd-amdhsa--${g.gfx}:sramecc+:xnack-\n`;
  return `ROCk module is loaded\n=====================\nHSA Agents\n==========\n${cpu}${gpus.map(gpu).join("")}*** Done ***`;
}
