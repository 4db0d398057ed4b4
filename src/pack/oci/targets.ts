// Does an image's Triton targets list fit this machine's GPUs? Pure: detection is gpus.ts.

export interface ImageTarget {
  backend: string;
  arch: string;
  warp_size: number;
}

export interface Gpu {
  backend: string;
  arch: string;
  warpSize: number | undefined;
  name: string;
}

export interface TargetCheck {
  /** at least one target runs on at least one GPU */
  ok: boolean;
  matched: ImageTarget[];
  unmatched: ImageTarget[];
}

// MCV writes "hip" from Triton metadata and "rocm" for vLLM binary caches; CUDA arch as
// "90" (Triton) or "sm_90" (vLLM); rocminfo may add features ("gfx90a:sramecc+:xnack-").
function backendOf(b: string): string {
  const x = b.toLowerCase();
  return x === "rocm" || x === "amd" ? "hip" : x;
}

function archOf(a: string | number): string {
  return String(a).toLowerCase().replace(/^sm_?/, "").split(":")[0] as string;
}

export function fits(t: ImageTarget, g: Gpu): boolean {
  if (backendOf(t.backend) !== backendOf(g.backend) || archOf(t.arch) !== archOf(g.arch)) return false;
  return g.warpSize === undefined || !t.warp_size || t.warp_size === g.warpSize;
}

export function checkTargets(targets: ImageTarget[], gpus: Gpu[]): TargetCheck {
  const matched = targets.filter((t) => gpus.some((g) => fits(t, g)));
  const unmatched = targets.filter((t) => !matched.includes(t));
  return { ok: matched.length > 0 || targets.length === 0, matched, unmatched };
}

export function describeTarget(t: ImageTarget): string {
  return `${t.backend}/${t.arch}${t.warp_size ? `/warp${t.warp_size}` : ""}`;
}
