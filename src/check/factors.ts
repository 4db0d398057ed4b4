// A factor of a cache key, the cache's value beside this machine's, and the
// verdict a level's factors give. Pure.
import { createHash } from "node:crypto";

export type FactorStatus = "same" | "differs" | "unknown";

export interface Factor {
  name: string;
  cache: string;
  here: string;
  status: FactorStatus;
  /** an unknown that can decide the verdict (else it is listed, and the verdict stands) */
  decisive: boolean;
}

export type LevelName = "triton" | "fx-graph" | "vllm";
export type LevelVerdict = "can hit" | "cannot hit" | "unknown";

export interface Level {
  level: LevelName;
  /** what this group of the cache is: "cuda 90, Triton 3.6.0", "3 FX graphs", a compile folder */
  what: string;
  count: number;
  verdict: LevelVerdict;
  factors: Factor[];
  /** the factors that decide it, in one line ("device name differs: H100 vs H200") */
  because: string;
}

export const same = (name: string, cache: string, here: string): Factor => ({
  name,
  cache,
  here,
  status: "same",
  decisive: true,
});
export const differs = (name: string, cache: string, here: string): Factor => ({
  name,
  cache,
  here,
  status: "differs",
  decisive: true,
});
export const unknown = (name: string, cache: string, here: string, decisive: boolean): Factor => ({
  name,
  cache,
  here,
  status: "unknown",
  decisive,
});
export const compare = (name: string, cache: string, here: string): Factor =>
  cache === here ? same(name, cache, here) : differs(name, cache, here);

export const short = (s: string, n = 16) => (s.length > n ? `${s.slice(0, n)}…` : s);
/**
 * triton_key() is Triton's version, then "-"-joined hashes of its source files
 * (the first right after the version): shown as the version and a digest of it all.
 */
export function tritonKeyShown(k: string): string {
  const first = k.split("-")[0] ?? "";
  const version = /[0-9a-f]{64}$/.test(first) ? first.slice(0, -64) : "";
  const digest = createHash("sha256").update(k).digest("hex").slice(0, 8);
  return version ? `${version} (${digest})` : digest;
}
export const envText = (e: Record<string, string>) =>
  Object.keys(e).length
    ? Object.entries(e)
        .map(([k, v]) => `${k}=${v}`)
        .join(" ")
    : "none set";

export function conclude(level: LevelName, what: string, count: number, factors: Factor[]): Level {
  const bad = factors.filter((f) => f.status === "differs");
  const open = factors.filter((f) => f.status === "unknown" && f.decisive);
  const verdict: LevelVerdict = bad.length ? "cannot hit" : open.length ? "unknown" : "can hit";
  const because = bad.length
    ? bad.map((f) => `${f.name} differs: ${f.cache} vs ${f.here}`).join("; ")
    : open.length
      ? open.map((f) => `${f.name} unknown`).join("; ")
      : "every factor mcm can see matches";
  return { level, what, count, verdict, factors, because };
}
