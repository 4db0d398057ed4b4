// What a kernel is, from its metadata JSON and its file names and sizes: the
// same for a kernel folder on disk and for one embedded in a PyTorch artifact.
import { type Backend, backendByBinaryExt, backendByName, IR_EXTS } from "../backends/index.js";
import type { FileKind, KernelFacts, KernelFile } from "../core/types.js";

export type { KernelFacts };

type Json = Record<string, unknown>;
export const asObject = (v: unknown): Json => (v && typeof v === "object" && !Array.isArray(v) ? (v as Json) : {});
const asInt = (v: unknown): number | null => (typeof v === "number" && Number.isFinite(v) ? v : null);

const ASM_EXTS = ["ptx", "amdgcn", "asm"];

export function extOf(name: string): string {
  const i = name.lastIndexOf(".");
  return i < 0 ? "" : name.slice(i + 1);
}

/** `name` is the kernel's file stem (`<name>.json`); `raw` its files, sorted by name. */
export function kernelFacts(name: string, meta: Json, raw: readonly { name: string; size: number }[]): KernelFacts {
  const target = asObject(meta.target);
  const backend = pickBackend(target, meta, raw);
  const files: KernelFile[] = raw.map((f) => ({ name: f.name, kind: fileKind(f.name, name, backend), size: f.size }));
  let totalSize = 0;
  let irSize = 0;
  let asmSize = 0;
  for (const f of files) {
    totalSize += f.size;
    if (f.kind === "ir") irSize += f.size;
    if (f.kind === "asm") asmSize += f.size;
  }
  return {
    name: typeof meta.name === "string" ? meta.name : name,
    backend: backend?.name ?? (typeof target.backend === "string" ? target.backend : "unknown"),
    arch: pickArch(backend, target, meta),
    warpSize: asInt(target.warp_size) ?? asInt(meta.warp_size) ?? backend?.defaultWarpSize ?? null,
    numWarps: asInt(meta.num_warps),
    numStages: asInt(meta.num_stages),
    numCtas: asInt(meta.num_ctas),
    shared: asInt(meta.shared),
    tritonVersion: typeof meta.triton_version === "string" ? meta.triton_version : null,
    files,
    totalSize,
    irSize,
    asmSize,
  };
}

function pickBackend(target: Json, meta: Json, files: readonly { name: string }[]): Backend | undefined {
  for (const v of [target.backend, meta.backend_name, meta.device_type]) {
    const b = typeof v === "string" ? backendByName(v) : undefined;
    if (b) return b;
  }
  for (const f of files) {
    const b = backendByBinaryExt(extOf(f.name));
    if (b) return b;
  }
  return undefined;
}

function pickArch(backend: Backend | undefined, target: Json, meta: Json): string {
  if (!backend) return typeof target.arch === "string" ? target.arch : "unknown";
  for (const v of [target.arch, meta.arch, meta.capability, meta.cc]) {
    const a = backend.archName(v);
    if (a) return a;
  }
  return "unknown";
}

function fileKind(file: string, name: string, backend: Backend | undefined): FileKind {
  if (file === `${name}.json`) return "metadata";
  if (file === `__grp__${name}.json`) return "group";
  const ext = extOf(file);
  if (backend ? backend.binaryExts.includes(ext) : backendByBinaryExt(ext)) return "binary";
  if (IR_EXTS.includes(ext)) return "ir";
  if (backend?.asmExts.includes(ext) || (!backend && ASM_EXTS.includes(ext))) return "asm";
  return "other";
}
