// Builds Triton-shaped kernel folders from the field lists in DESIGN.md, for
// formats no fixture has (ROCm, XPU, old Triton versions) and for broken input.
import { createHash } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { FIXTURE_AGE_MS, setAge } from "./fixtures.js";

export interface SyntheticKernel {
  key: string;
  name: string;
  /** extensions besides .json and the group file */
  exts: string[];
  metadata: Record<string, unknown> | string;
  /** "dict": 3.x absolute paths; "list": 2.x relative names; "none": no group file */
  group?: "dict" | "list" | "none";
  /** where the dict-form group paths point (default: this folder) */
  groupBase?: string;
}

export function writeKernel(dir: string, k: SyntheticKernel): string {
  const folder = join(dir, k.key);
  mkdirSync(folder, { recursive: true });
  const files = [...k.exts.map((e) => `${k.name}.${e}`), `${k.name}.json`];
  for (const f of files) {
    if (f === `${k.name}.json`) continue;
    writeFileSync(join(folder, f), `${f} contents `.repeat(20));
  }
  writeFileSync(
    join(folder, `${k.name}.json`),
    typeof k.metadata === "string" ? k.metadata : JSON.stringify(k.metadata),
  );
  const group = k.group ?? "dict";
  if (group === "dict") {
    const base = k.groupBase ?? folder;
    const child_paths = Object.fromEntries(files.map((f) => [f, join(base, f)]));
    writeFileSync(join(folder, `__grp__${k.name}.json`), JSON.stringify({ child_paths }));
  } else if (group === "list") {
    writeFileSync(join(folder, `__grp__${k.name}.json`), JSON.stringify({ child_paths: files }));
  }
  // dated by this process's clock, as extracted fixtures are (the kernel's clock can disagree under faketime)
  setAge(folder, FIXTURE_AGE_MS);
  return folder;
}

const B32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

function digest(seed: number): Buffer {
  return createHash("sha256").update(`mcm-test-${seed}`).digest();
}

/** A 52-char base32 key like Triton 3.x writes, derived from a seed. */
export function base32Key(seed: number): string {
  const d = Buffer.concat([digest(seed), digest(seed + 1e6)]);
  return Array.from(d.subarray(0, 52), (b) => B32[b % 32]).join("");
}

export function hexKey(seed: number, length: 64 | 32): string {
  return digest(seed).toString("hex").slice(0, length);
}

export function base64Key(seed: number): string {
  return digest(seed).toString("base64url").slice(0, 43);
}

export const ROCM_KERNEL = (key: string, arch = "gfx90a"): SyntheticKernel => ({
  key,
  name: "rocm_add",
  exts: ["source", "ttir", "ttgir", "llir", "amdgcn", "hsaco"],
  metadata: {
    hash: "ab".repeat(32),
    target: { backend: "hip", arch, warp_size: 64 },
    num_warps: 4,
    num_stages: 2,
    num_ctas: 1,
    waves_per_eu: 0,
    kpack: 1,
    matrix_instr_nonkdim: 16,
    backend_name: "hip",
    triton_version: "3.6.0",
    shared: 512,
    name: "rocm_add",
  },
});

export const XPU_KERNEL = (key: string): SyntheticKernel => ({
  key,
  name: "xpu_add",
  exts: ["source", "ttir", "ttgir", "llir", "spv"],
  metadata: {
    hash: "cd".repeat(32),
    target: { backend: "xpu", arch: { arch: "pvc", device_id: 3034, max_shared_mem: 131072 }, warp_size: 32 },
    num_warps: 8,
    num_stages: 2,
    num_ctas: 1,
    backend_name: "intel",
    triton_version: "3.6.0",
    shared: 0,
    name: "xpu_add",
  },
});

/** Triton 3.0/3.1: 64-hex keys, target dict, no triton_version. */
export const TRITON30_KERNEL = (key: string): SyntheticKernel => ({
  key,
  name: "old_add",
  exts: ["ttir", "ttgir", "llir", "ptx", "cubin"],
  metadata: {
    hash: "ef".repeat(32),
    target: { backend: "cuda", arch: 80, warp_size: 32 },
    num_warps: 4,
    num_ctas: 1,
    num_stages: 3,
    debug: false,
    shared: 1024,
    name: "old_add",
  },
});

/** Triton 2.x: 32-hex keys, list-form child_paths, no target, no arch, no version. */
export const TRITON2_KERNEL = (key: string): SyntheticKernel => ({
  key,
  name: "legacy_kernel",
  exts: ["ttir", "ttgir", "llir", "ptx", "cubin"],
  group: "list",
  metadata: { num_warps: 8, num_stages: 3, constants: {}, debug: false, shared: 0, name: "legacy_kernel" },
});
