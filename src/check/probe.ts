// What this machine is: its GPUs (nvidia-smi, rocminfo or amd-smi) and the Triton that
// python3 imports. Each tool runs once with a short timeout; a tool that is missing,
// fails or prints what mcm cannot read becomes an "unchecked" line, never an error.
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { HereFacts } from "./levels.js";
import { parseProbeOutput, type RuntimeFacts } from "./runtime-facts.js";
import type { GpuFact, MachineFacts, Unchecked } from "./usable.js";

/** python/mcm_probe.py: asks Triton, PyTorch and vLLM what they put into their cache keys */
export const PROBE_SCRIPT = fileURLToPath(new URL("../../python/mcm_probe.py", import.meta.url));

export interface ProbeOptions {
  /** the Python whose Triton counts (default python3) */
  python?: string;
  /** per tool, in ms (default 15 s: nvidia-smi can take seconds to wake a driver) */
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
}

interface ToolRun {
  ok: boolean;
  stdout: string;
  /** why it did not run or failed, in one line */
  reason: string;
}

function runTool(cmd: string, args: string[], o: ProbeOptions): Promise<ToolRun> {
  const timeout = o.timeoutMs ?? 15_000;
  return new Promise((resolve) => {
    execFile(
      cmd,
      args,
      { timeout, env: o.env ?? process.env, maxBuffer: 8 << 20, encoding: "utf8" },
      (err, stdout, stderr) => {
        if (!err) return resolve({ ok: true, stdout, reason: "" });
        const e = err as NodeJS.ErrnoException & { killed?: boolean; signal?: string | null };
        const lastLine = (s: string) =>
          s
            .split("\n")
            .map((l) => l.trim())
            .filter(Boolean)
            .pop() ?? "";
        let reason: string;
        if (e.code === "ENOENT") reason = `${cmd} not found on PATH`;
        else if (e.code === "EACCES") reason = `${cmd} is not executable`;
        else if (e.killed || e.signal) reason = `${cmd} did not answer within ${timeout / 1000} s`;
        else reason = `${cmd} failed (exit ${e.code}): ${lastLine(stderr) || lastLine(stdout) || "no output"}`;
        resolve({ ok: false, stdout, reason });
      },
    );
  });
}

/** `nvidia-smi --query-gpu=name,compute_cap --format=csv,noheader` lines: "NVIDIA H100 80GB HBM3, 9.0". */
export function parseNvidiaSmi(text: string): { gpus: GpuFact[]; bad: string[] } {
  const gpus: GpuFact[] = [];
  const bad: string[] = [];
  for (const line of text.split("\n").map((l) => l.trim())) {
    if (!line) continue;
    // the name may hold commas; the compute capability is the last field
    const m = /^(.*),\s*(\d+)\.(\d+)$/.exec(line);
    if (!m) {
      bad.push(line);
      continue;
    }
    // Triton's cuda target: major * 10 + minor, as a number ("90", "120")
    gpus.push({
      index: gpus.length,
      backend: "cuda",
      arch: String(Number(m[2]) * 10 + Number(m[3])),
      name: (m[1] as string).trim(),
      warpSize: 32,
    });
  }
  return { gpus, bad };
}

// RDNA (gfx10-12) runs Triton with wave32; CDNA and older (gfx9) with wave64
function amdWarpSize(gfx: string): number {
  return /^gfx(1[0-9])/.test(gfx) ? 32 : 64;
}

/** `rocminfo`: one "Agent N" block per CPU or GPU; GPUs have a gfx Name. */
export function parseRocminfo(text: string): GpuFact[] {
  const gpus: GpuFact[] = [];
  for (const block of text.split(/^\s*Agent \d+\s*$/m).slice(1)) {
    const field = (k: string) => new RegExp(`^\\s*${k}:[ \\t]*(.*?)\\s*$`, "m").exec(block)?.[1];
    const name = field("Name"); // the first Name: of the block; ISA names come later
    if (!name || !/^gfx[0-9a-z]+/i.test(name)) continue;
    const gfx = (name.split(":")[0] as string).toLowerCase();
    const wave = /^(\d+)/.exec(field("Wavefront Size") ?? "")?.[1];
    gpus.push({
      index: gpus.length,
      backend: "hip",
      arch: gfx,
      name: field("Marketing Name") || gfx,
      warpSize: wave ? Number(wave) : amdWarpSize(gfx),
    });
  }
  return gpus;
}

/** `amd-smi static --asic`: "GPU: 0" blocks with MARKET_NAME and TARGET_GRAPHICS_VERSION. */
export function parseAmdSmi(text: string): GpuFact[] {
  const gpus: GpuFact[] = [];
  for (const block of text.split(/^GPU:\s*\d+\s*$/m).slice(1)) {
    const gfx = /TARGET_GRAPHICS_VERSION:\s*(gfx[0-9a-z]+)/i.exec(block)?.[1]?.toLowerCase();
    if (!gfx) continue;
    const name = /MARKET_NAME:[ \t]*(.*?)\s*$/m.exec(block)?.[1];
    gpus.push({ index: gpus.length, backend: "hip", arch: gfx, name: name || gfx, warpSize: amdWarpSize(gfx) });
  }
  return gpus;
}

interface Probed {
  gpus: GpuFact[];
  unchecked?: Unchecked;
  /** the tool answered: its GPU list is complete (possibly empty) */
  listed: boolean;
}

async function probeNvidia(o: ProbeOptions): Promise<Probed> {
  const tool = "nvidia-smi";
  const r = await runTool(tool, ["--query-gpu=name,compute_cap", "--format=csv,noheader"], o);
  if (!r.ok) {
    // a driver without devices says so and exits non-zero: that is an answer
    if (/no devices were found/i.test(r.stdout + r.reason)) return { gpus: [], listed: true };
    return { gpus: [], listed: false, unchecked: { what: "nvidia", tool, reason: r.reason } };
  }
  const { gpus, bad } = parseNvidiaSmi(r.stdout);
  if (bad.length && gpus.length === 0) {
    if (/no devices were found/i.test(bad.join(" "))) return { gpus: [], listed: true };
    const reason = `${tool} printed what mcm cannot read: ${JSON.stringify((bad[0] as string).slice(0, 80))}`;
    return { gpus: [], listed: false, unchecked: { what: "nvidia", tool, reason } };
  }
  if (bad.length) {
    // a partial list would claim the others are missing
    const reason = `${tool} printed ${bad.length} line(s) mcm cannot read: ${JSON.stringify((bad[0] as string).slice(0, 80))}`;
    return { gpus, listed: false, unchecked: { what: "nvidia", tool, reason } };
  }
  return { gpus, listed: true };
}

async function probeAmd(o: ProbeOptions): Promise<Probed> {
  const r = await runTool("rocminfo", [], o);
  if (r.ok && /\bAgent \d+/.test(r.stdout)) return { gpus: parseRocminfo(r.stdout), listed: true };
  const s = await runTool("amd-smi", ["static", "--asic"], o);
  if (s.ok) {
    const gpus = parseAmdSmi(s.stdout);
    if (gpus.length || !/GPU:/.test(s.stdout)) return { gpus, listed: true };
  }
  const why = r.ok ? "rocminfo printed no agents" : r.reason;
  const why2 = s.ok ? "amd-smi printed no gfx target" : s.reason;
  return { gpus: [], listed: false, unchecked: { what: "amd", tool: "rocminfo", reason: `${why}; ${why2}` } };
}

async function probeTriton(o: ProbeOptions): Promise<{ triton: MachineFacts["triton"]; unchecked?: Unchecked }> {
  const python = o.python ?? "python3";
  const r = await runTool(python, ["-c", "import triton; print(triton.__version__)"], o);
  const version = r.stdout.trim().split("\n").pop()?.trim() ?? "";
  if (r.ok && /^\d+\.\d+[\w.+-]*$/.test(version)) return { triton: { version, python } };
  const reason = r.ok
    ? `${python} printed no Triton version: ${JSON.stringify(version.slice(0, 80))}`
    : r.reason.replace(/^(\S+) failed \(exit \d+\):/, "$1 cannot import triton:");
  return { triton: null, unchecked: { what: "triton", tool: python, reason } };
}

/** Probes this machine's GPUs and Triton, all tools at once. */
export async function probeMachine(o: ProbeOptions = {}): Promise<MachineFacts> {
  const [nv, amd, tr] = await Promise.all([probeNvidia(o), probeAmd(o), probeTriton(o)]);
  const gpus = [...nv.gpus, ...amd.gpus];
  return {
    gpus,
    probedBackends: [...(nv.listed ? ["cuda"] : []), ...(amd.listed ? ["hip"] : [])],
    triton: tr.triton,
    unchecked: [nv.unchecked, amd.unchecked, tr.unchecked].filter((u): u is Unchecked => u !== undefined),
  };
}

/**
 * Runs python/mcm_probe.py with the user's Python: what its Triton, PyTorch and
 * vLLM hash into their keys. Importing torch takes seconds: a minute's timeout.
 */
export async function probeRuntimes(
  o: ProbeOptions = {},
): Promise<{ runtime: RuntimeFacts; error: null } | { runtime: null; error: string }> {
  const python = o.python ?? "python3";
  const r = await runTool(python, [PROBE_SCRIPT], { timeoutMs: 60_000, ...o });
  const runtime = r.ok ? parseProbeOutput(r.stdout) : null;
  if (runtime) return { runtime, error: null };
  return { runtime: null, error: r.ok ? `${python} printed no probe answer` : r.reason };
}

/** The machine's side of explain: GPUs and Triton (as check probes them), and what the Python's runtimes hash. */
export async function probeHere(python: string | undefined): Promise<HereFacts> {
  const [machine, rt] = await Promise.all([probeMachine({ python }), probeRuntimes({ python })]);
  return { machine, runtime: rt.runtime, runtimeError: rt.error };
}
