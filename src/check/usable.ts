// Can a kernel (or an image's target) hit on this machine? Pure: facts in, verdicts out.
// Triton's cache key holds the target (backend, arch, warp size) and its own version,
// so a kernel hits only on a GPU of that exact target under that exact Triton version,
// and only while its group file points at its own folder.
import { backendByName } from "../backends/index.js";

/** One GPU of this machine, as Triton's backend names its target. */
export interface GpuFact {
  index: number;
  backend: string;
  /** "90" (cuda: compute capability 9.0), "gfx90a" (hip) */
  arch: string;
  name: string;
  warpSize: number | null;
}

/** The probes mcm runs: NVIDIA GPUs, AMD GPUs, the local Triton. */
export type ProbeName = "nvidia" | "amd" | "triton";

/** Something a probe could not find out, and why. */
export interface Unchecked {
  what: ProbeName;
  tool: string;
  reason: string;
}

export interface MachineFacts {
  gpus: GpuFact[];
  /** backends whose GPUs were listed: one here with no GPU means there is none */
  probedBackends: string[];
  /** the Triton version `python` imports; null when not checked (see unchecked) */
  triton: { version: string; python: string } | null;
  unchecked: Unchecked[];
}

/** What a kernel (or an image) was built for. */
export interface Target {
  backend: string;
  /** 90 or "90" for cuda, "gfx90a" for hip */
  arch: string | number;
  warpSize?: number | null;
  /** null or absent: not known (old metadata, or an image label without it) */
  tritonVersion?: string | null;
  staleGroupPaths?: boolean;
}

export type ReasonCode =
  | "backend-missing"
  | "arch-mismatch"
  | "warp-size-mismatch"
  | "triton-version-mismatch"
  | "stale-group-paths"
  | "backend-not-checked"
  | "triton-not-checked"
  | "triton-version-unknown";

export interface Reason {
  code: ReasonCode;
  message: string;
}

export type Status = "usable" | "unusable" | "unchecked";

export interface Verdict {
  status: Status;
  /** why it cannot hit here (empty unless unusable) */
  reasons: Reason[];
  /** what could not be checked for it */
  unchecked: Reason[];
}

const PROBE_OF: Record<string, ProbeName> = { cuda: "nvidia", hip: "amd" };
const VENDOR: Record<string, string> = { cuda: "NVIDIA", hip: "AMD" };

function normalise(t: Target): { backend: string; arch: string } {
  const b = backendByName(t.backend);
  const arch = b?.archName(t.arch) ?? String(t.arch);
  return { backend: b?.name ?? t.backend.toLowerCase(), arch: arch.toLowerCase() };
}

function list(xs: string[]): string {
  return [...new Set(xs)].join(", ");
}

/** The verdict for one kernel or target on a machine. */
export function verdict(t: Target, m: MachineFacts): Verdict {
  const reasons: Reason[] = [];
  const unchecked: Reason[] = [];
  const { backend, arch } = normalise(t);
  const vendor = VENDOR[backend] ?? backend;
  const gpus = m.gpus.filter((g) => g.backend === backend);
  if (gpus.length === 0) {
    if (m.probedBackends.includes(backend)) {
      reasons.push({ code: "backend-missing", message: `no ${vendor} GPU here (kernels for ${backend} ${arch})` });
    } else {
      const probe = m.unchecked.find((u) => u.what === PROBE_OF[backend]);
      unchecked.push({
        code: "backend-not-checked",
        message: probe
          ? `${vendor} GPUs not checked: ${probe.reason}`
          : `mcm cannot look for ${backend} devices (no probe for this backend)`,
      });
    }
  } else {
    const sameArch = gpus.filter((g) => g.arch.toLowerCase() === arch);
    if (sameArch.length === 0 && !m.probedBackends.includes(backend)) {
      // a partial GPU list: the missing ones might match
      const probe = m.unchecked.find((u) => u.what === PROBE_OF[backend]);
      unchecked.push({
        code: "backend-not-checked",
        message: `${vendor} GPUs not all checked: ${probe?.reason ?? "partial list"}`,
      });
    } else if (sameArch.length === 0) {
      reasons.push({
        code: "arch-mismatch",
        message: `built for ${backend} ${arch}; this machine's ${vendor} GPUs are ${list(gpus.map((g) => g.arch))}`,
      });
    } else if (
      t.warpSize != null &&
      sameArch.every((g) => g.warpSize !== null && g.warpSize !== t.warpSize) // unknown warp size: no verdict on it
    ) {
      reasons.push({
        code: "warp-size-mismatch",
        message: `built for warp size ${t.warpSize}; this machine's ${arch} GPUs use ${list(sameArch.map((g) => String(g.warpSize)))}`,
      });
    }
  }
  if (t.tritonVersion === null || t.tritonVersion === undefined) {
    if (t.tritonVersion === null) {
      unchecked.push({
        code: "triton-version-unknown",
        message: "Triton version not recorded in the kernel's metadata (Triton older than about 3.3)",
      });
    }
  } else if (m.triton === null) {
    const probe = m.unchecked.find((u) => u.what === "triton");
    unchecked.push({
      code: "triton-not-checked",
      message: `Triton version not checked: ${probe?.reason ?? "unknown"}`,
    });
  } else if (m.triton.version !== t.tritonVersion) {
    // the cache key holds the exact version: 3.6.0 kernels miss under 3.6.1
    reasons.push({
      code: "triton-version-mismatch",
      message: `built by Triton ${t.tritonVersion}; ${m.triton.python} has Triton ${m.triton.version}`,
    });
  }
  if (t.staleGroupPaths) {
    reasons.push({
      code: "stale-group-paths",
      message:
        "group paths stale: they point at the cache's old location (moved or copied), so Triton recompiles (or reads the old copy) until they are rewritten (mcm relocate)",
    });
  }
  const status: Status = reasons.length ? "unusable" : unchecked.length ? "unchecked" : "usable";
  return { status, reasons, unchecked };
}

export interface TargetsUsable {
  /** false only when every target certainly cannot hit here */
  ok: boolean;
  /** each target that cannot hit, and why */
  reasons: string[];
  /** what could not be checked */
  unchecked: string[];
  verdicts: { target: Target; verdict: Verdict }[];
}

/**
 * Whether an image built for `targets` ({backend, arch, warp_size} as MCV labels
 * hold them) can hit on this machine: ok while at least one target is usable or
 * could not be ruled out. A mixed image whose cuda part fits is still of use.
 */
export function targetsUsableHere(
  targets: { backend: string; arch: string | number; warp_size?: number | null; triton_version?: string | null }[],
  m: MachineFacts,
): TargetsUsable {
  const verdicts = targets.map((x) => {
    const target: Target = {
      backend: x.backend,
      arch: x.arch,
      warpSize: x.warp_size ?? null,
      tritonVersion: x.triton_version, // absent from MCV labels: not compared
    };
    return { target, verdict: verdict(target, m) };
  });
  const label = (t: Target) => `${t.backend} ${t.arch}${t.warpSize ? ` (warp ${t.warpSize})` : ""}`;
  return {
    ok: verdicts.length > 0 && verdicts.some((v) => v.verdict.status !== "unusable"),
    reasons: verdicts.length
      ? verdicts.flatMap((v) => v.verdict.reasons.map((r) => `${label(v.target)}: ${r.message}`))
      : ["the image names no targets"],
    unchecked: [...new Set(verdicts.flatMap((v) => v.verdict.unchecked.map((r) => r.message)))],
    verdicts,
  };
}
