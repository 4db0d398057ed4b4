// `mcm explain` (and the levels `mcm check` sums up) on the real fixtures. This
// machine has no GPU, Triton or PyTorch: the real probe (python/mcm_probe.py)
// runs with stand-in `triton` and `torch` packages on PYTHONPATH
// (test/check/standin), answering as a machine would, and a fake nvidia-smi.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { graphLines, unitKeyLines } from "../../src/check/cache-facts.js";
import type { KeyLine } from "../../src/check/runtime-facts.js";
import { cacheEntryFiles } from "../../src/pack/inductor-paths.js";
import { dbIn, mcm } from "../helpers/cli.js";
import { fakeTools, prints } from "../helpers/fake-tools.js";
import { cleanupTemp, extractFixture, tempDir } from "../helpers/fixtures.js";

after(cleanupTemp);

const STANDIN = join(import.meta.dirname, "../check/standin");
const PYTHON = execFileSync("python3", ["-c", "import sys; print(sys.executable)"]).toString().trim();
const H100_NAME = "NVIDIA H100 80GB HBM3";

interface Factor {
  name: string;
  cache: string;
  here: string;
  status: string;
  decisive: boolean;
}
interface Level {
  level: string;
  what: string;
  count: number;
  verdict: string;
  factors: Factor[];
  because: string;
}
interface Explained {
  caches: { cacheDir: string; levels: Level[] }[];
  summary: string[];
  runtimeError: string | null;
}

/**
 * What the machine that compiled a graph answered, made from the graph's own key
 * lines: the same system facts, torch_key and settings, hashed as its pickler did.
 */
function answersFrom(lines: Map<string, KeyLine>, o: { tritonVersion: string; arch: number }) {
  const hashes: Record<string, string> = {};
  const config: Record<string, string> = {};
  for (const [name, l] of lines) {
    hashes[`${name}\u0000${l.text}`] = l.hash;
    if (name.startsWith("inductor_config[")) config[name.slice(16, -1)] = l.text;
  }
  hashes["torch_version\u0000a1b2c3"] = lines.get("torch_version")?.hash as string;
  const version = lines.get("system_info[version]")?.text ?? "";
  return {
    triton: {
      version: o.tritonVersion,
      key: /'triton': '([^']*)'/.exec(version)?.[1] as string,
      hashed_env_names: ["TRITON_DEFAULT_FP_FUSION", "MLIR_ENABLE_DUMP"],
      target: { backend: "cuda", arch: o.arch, warp_size: 32 },
      ptxas: "Cuda compilation tools, release 12.8, V12.8.93", // Triton 3.6's bundled ptxas
    },
    torch: {
      version: "2.11.0+cu130",
      cuda: /'cuda': '([^']*)'/.exec(version)?.[1] as string,
      device: /'name': '([^']*)'/.exec(lines.get("system_info[device]")?.text ?? "")?.[1] as string,
      torch_key: "a1b2c3",
      config,
    },
    pickler_hashes: hashes,
  };
}

/** What the H100 that made the Inductor fixture answered. */
function h100Answers(root: string) {
  const [entry] = cacheEntryFiles(root).filter((f) => f.includes("/fxgraph/"));
  const lines = graphLines(entry as string, [])?.lines;
  assert.ok(lines && lines.size > 500, "the fixture's entries hold Inductor's key lines");
  return answersFrom(lines, { tritonVersion: "3.6.0", arch: 90 });
}

type Answers = ReturnType<typeof h100Answers>;
let inductor: string;
let base: Answers;

before(() => {
  inductor = extractFixture("torchinductor_root");
  mcm(["relocate", "--cache-dir", inductor, "-y"], { db: dbIn(tempDir()) });
  base = h100Answers(inductor);
});

/** Runs explain (or check) against a machine that answers `answers`, with a fake nvidia-smi naming `gpu`. */
function run(
  cmd: "explain" | "check",
  dir: string,
  answers: Answers,
  o: { gpu?: string; cc?: string; env?: Record<string, string>; args?: string[] } = {},
) {
  const file = join(tempDir(), "answers.json");
  writeFileSync(file, JSON.stringify(answers));
  const tmp = tempDir();
  const env = {
    PATH: `${fakeTools({ "nvidia-smi": prints(`${o.gpu ?? H100_NAME}, ${o.cc ?? "9.0"}`) })}:/usr/bin:/bin`,
    PYTHONPATH: STANDIN,
    MCM_STANDIN: file,
    TMPDIR: tmp,
    HOME: "/home/ec2-user",
    ...o.env,
  };
  return mcm([cmd, "--cache-dir", dir, "--python", PYTHON, ...(o.args ?? [])], { db: dbIn(tempDir()), env });
}

function explain(dir: string, answers: Answers, o: Parameters<typeof run>[3] = {}): Explained {
  const r = run("explain", dir, answers, { ...o, args: [...(o.args ?? []), "--json"] });
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as Explained;
}

const levels = (e: Explained, name: string) => e.caches.flatMap((c) => c.levels).filter((l) => l.level === name);
const factor = (l: Level | undefined, name: string) => l?.factors.find((f) => f.name === name);
const edit = (f: (a: Answers) => void): Answers => {
  const a = structuredClone(base);
  f(a);
  return a;
};

describe("mcm explain", () => {
  it("the machine that made the cache: every decisive factor the same, at every level", () => {
    const e = explain(inductor, base);
    const [triton] = levels(e, "triton");
    const [fx] = levels(e, "fx-graph");
    assert.equal(triton?.verdict, "can hit");
    assert.equal(triton?.count, 55);
    assert.deepEqual(
      triton?.factors.filter((f) => f.status !== "same").map((f) => [f.name, f.cache, f.status, f.decisive]),
      [
        ["backend (ptxas) hash", "not recorded", "unknown", false],
        ["Triton-hashed variables", "not recorded", "unknown", false],
      ],
      "the cache does not record its backend hash or environment; none is set here, so they cannot decide",
    );
    assert.equal(fx?.verdict, "can hit");
    assert.equal(fx?.count, 3);
    assert.ok(
      fx?.factors.every((f) => f.status === "same"),
      JSON.stringify(fx?.factors),
    );
    assert.deepEqual(e.summary, ["55 Triton kernels can hit", "3 FX graphs can hit"]);
  });

  it("an H200: the FX graphs cannot hit (device name), the Triton kernels can; check says the same", () => {
    const h200 = edit((a) => {
      a.torch.device = "NVIDIA H200";
    });
    const e = explain(inductor, h200, { gpu: "NVIDIA H200" });
    const [fx] = levels(e, "fx-graph");
    assert.equal(fx?.verdict, "cannot hit");
    assert.equal(fx?.because, `device name differs: ${H100_NAME} vs NVIDIA H200`);
    assert.equal(levels(e, "triton")[0]?.verdict, "can hit");
    const c = run("check", inductor, h200, { gpu: "NVIDIA H200" });
    assert.equal(c.code, 0, c.stderr);
    assert.match(c.stdout, /55 Triton kernels can hit/);
    assert.match(
      c.stdout,
      /3 FX graphs cannot hit \(device name differs: NVIDIA H100 80GB HBM3 vs NVIDIA H200\), so Inductor will compile them again and look their Triton kernels up again/,
    );
    const text = run("explain", inductor, h200, { gpu: "NVIDIA H200" });
    assert.match(text.stdout, /device name\s+NVIDIA H100 80GB HBM3\s+NVIDIA H200\s+differs/);
  });

  it("another Triton: its version and build differ at both levels", () => {
    const e = explain(
      inductor,
      edit((a) => {
        a.triton.version = "3.6.1";
        a.triton.key = `3.6.1${a.triton.key.slice(5, -4)}beef`;
      }),
    );
    const [triton] = levels(e, "triton");
    assert.equal(triton?.verdict, "cannot hit");
    assert.equal(factor(triton, "Triton version")?.status, "differs");
    assert.equal(factor(triton, "Triton build (triton_key)")?.status, "differs");
    assert.equal(factor(levels(e, "fx-graph")[0], "Triton build (triton_key)")?.status, "differs");
  });

  it("the same Triton version from another build: only triton_key tells, at both levels", () => {
    const e = explain(
      inductor,
      edit((a) => {
        a.triton.key = `${a.triton.key.slice(0, -4)}beef`;
      }),
    );
    const [triton] = levels(e, "triton");
    assert.equal(factor(triton, "Triton version")?.status, "same");
    assert.equal(factor(triton, "Triton build (triton_key)")?.status, "differs");
    assert.equal(levels(e, "fx-graph")[0]?.verdict, "cannot hit");
  });

  it("another ptxas than the one a warmed cache recorded: the Triton kernels cannot hit (the backend hashes it)", () => {
    const warmed = warmedCopy();
    const e = explain(
      warmed,
      edit((a) => {
        a.triton.ptxas = "Cuda compilation tools, release 12.9, V12.9.41";
      }),
    );
    const [triton] = levels(e, "triton");
    assert.equal(triton?.verdict, "cannot hit");
    assert.equal(triton?.because, "backend (ptxas) hash differs: ptxas 12.8.93 vs ptxas 12.9.41");
    assert.equal(levels(explain(warmed, base), "triton")[0]?.verdict, "can hit");
  });

  it("a variable Triton hashes, set here: unknown when the cache does not record its own, differs when it does", () => {
    const env = { MLIR_ENABLE_DUMP: "1" };
    const [unrecorded] = levels(explain(inductor, base, { env }), "triton");
    assert.equal(unrecorded?.verdict, "unknown");
    assert.deepEqual(factor(unrecorded, "Triton-hashed variables"), {
      name: "Triton-hashed variables",
      cache: "not recorded",
      here: "MLIR_ENABLE_DUMP=1",
      status: "unknown",
      decisive: true,
    });
    // a warmed cache: mcm-warm.json holds the probe of where it was made (nothing set there)
    const [recorded] = levels(explain(warmedCopy(), base, { env }), "triton");
    assert.equal(recorded?.verdict, "cannot hit");
    assert.equal(recorded?.because, "Triton-hashed variables differs: none set vs MLIR_ENABLE_DUMP=1");
  });

  it("another GPU target, stale group paths, another CUDA: each is the reason at its level", () => {
    const a100 = edit((a) => {
      a.triton.target.arch = 80;
      a.torch.device = "NVIDIA A100-SXM4-80GB";
      a.torch.cuda = "12.8";
    });
    const e = explain(inductor, a100, { gpu: "NVIDIA A100-SXM4-80GB", cc: "8.0" });
    const [triton] = levels(e, "triton");
    assert.equal(triton?.because, "GPU target differs: cuda 90, warp 32 vs cuda 80");
    const [fx] = levels(e, "fx-graph");
    assert.equal(
      fx?.because,
      `device name differs: ${H100_NAME} vs NVIDIA A100-SXM4-80GB; CUDA (torch.version.cuda) differs: 13.0 vs 12.8`,
    );
    const stale = extractFixture("torchinductor_root"); // not relocated: its group files point at /tmp/mcm-fixtures
    assert.equal(
      levels(explain(stale, base), "triton")[0]?.because,
      "group paths differs: point elsewhere vs this folder",
    );
  });

  it("another PyTorch build: torch_key's hash differs, the FX graphs cannot hit", () => {
    const e = explain(
      inductor,
      edit((a) => {
        a.torch.torch_key = "ffff";
      }),
    );
    const [fx] = levels(e, "fx-graph");
    assert.equal(fx?.verdict, "cannot hit");
    assert.equal(fx?.because, "PyTorch build (torch_key) differs: another build vs torch 2.11.0+cu130");
  });

  it("Inductor settings that differ from the defaults here are listed, never a verdict (the program may set them)", () => {
    const e = explain(
      inductor,
      edit((a) => {
        a.torch.config.max_autotune = "True";
      }),
    );
    const [fx] = levels(e, "fx-graph");
    assert.equal(fx?.verdict, "can hit");
    const s = factor(fx, "Inductor settings");
    assert.deepEqual([s?.status, s?.decisive], ["unknown", false]);
    assert.match(s?.here ?? "", /1 differ from the defaults here \(max_autotune\)/);
  });

  it("no runtime answers (no Triton, no PyTorch): every factor it would need is unknown, none same", () => {
    const r = mcm(["explain", "--cache-dir", inductor, "--python", PYTHON, "--json"], {
      db: dbIn(tempDir()),
      env: { PATH: `${fakeTools({})}:/usr/bin:/bin`, PYTHONPATH: "" },
    });
    assert.equal(r.code, 0, r.stderr);
    const e = JSON.parse(r.stdout) as Explained;
    for (const l of e.caches.flatMap((c) => c.levels)) {
      assert.equal(l.verdict, "unknown", l.what);
      for (const f of l.factors.filter((x) => x.name !== "group paths")) assert.notEqual(f.status, "same", f.name);
    }
  });

  it("a hash: only what it names; a hash naming nothing exits 1; a malformed one 2", () => {
    const e = explain(inductor, base, { args: ["frm7nyr"] });
    assert.deepEqual(
      e.caches.flatMap((c) => c.levels).map((l) => [l.level, l.count]),
      [["fx-graph", 1]],
    );
    const none = run("explain", inductor, base, { args: ["zzzzzz"] });
    assert.equal(none.code, 1);
    assert.match(none.stderr, /nothing whose hash starts with 'zzzzzz'/);
    const bad = run("explain", inductor, base, { args: ["../x"] });
    assert.equal(bad.code, 2);
    assert.equal(bad.stderr.trim().split("\n").length, 1);
  });
});

describe("mcm explain: vLLM compile folders", () => {
  it("the GKM cache: on its T4, HOME-derived factors match under its HOME, differ under another; a set variable differs", () => {
    const gkm = extractFixture("llama-binary-cache");
    const unit = join(gkm, "torch_compile_cache/edf531ca35/rank_0_0/backbone/artifact_compile_range_1_2048_subgraph_0");
    const lines = unitKeyLines(unit, "binary", []);
    assert.ok(lines && lines.size > 100, "its binary artifacts embed Inductor's key lines");
    const t4 = answersFrom(lines, { tritonVersion: "3.5.1", arch: 75 });
    const t4Run = (o: Parameters<typeof run>[3] = {}) => explain(gkm, t4, { gpu: "Tesla T4", cc: "7.5", ...o });
    const [v] = levels(t4Run({ env: { HOME: "/home/ec2-user" } }), "vllm");
    assert.equal(v?.verdict, "can hit", JSON.stringify(v?.factors));
    assert.equal(v?.what, "compile folder edf531ca35");
    assert.deepEqual(
      v?.factors.map((f) => [f.name, f.status, f.decisive]),
      [
        ["device name", "same", true],
        ["CUDA (torch.version.cuda)", "same", true],
        ["Triton build (triton_key)", "same", true],
        ["PyTorch build (torch_key)", "same", true],
        ["vLLM environment factors", "same", true],
        ["other vLLM factors", "unknown", false],
      ],
    );
    // on an H100, vLLM's compiler_hash changes with the GPU and the Triton build: another folder
    const [h100] = levels(explain(gkm, base, { env: { HOME: "/home/ec2-user" } }), "vllm");
    assert.match(h100?.because ?? "", /^device name differs: Tesla T4 vs NVIDIA H100 80GB HBM3; /);
    const moved = levels(t4Run({ env: { HOME: "/home/other" } }), "vllm")[0];
    assert.equal(moved?.verdict, "cannot hit");
    assert.match(
      moved?.because ?? "",
      /VLLM_CONFIG_ROOT differs: \/home\/ec2-user\/\.config\/vllm vs \/home\/other\/\.config\/vllm/,
    );
    const set = levels(t4Run({ env: { VLLM_DP_SIZE: "2" } }), "vllm")[0];
    assert.match(set?.because ?? "", /VLLM_DP_SIZE differs: 1 vs 2/);
    // where vLLM is importable, its own factors are compared, every one of them
    const env = JSON.parse(
      readFileSync(join(gkm, "torch_compile_cache/edf531ca35/rank_0_0/backbone/cache_key_factors.json"), "utf8"),
    ).env;
    const withVllm = (factors: Record<string, unknown>) => ({ ...t4, vllm: { version: "0.11.1", factors } });
    const onT4 = (a: Answers, o: Parameters<typeof run>[3] = {}) =>
      explain(gkm, a, { gpu: "Tesla T4", cc: "7.5", ...o });
    const [exact] = levels(onT4(withVllm(env), { env: { HOME: "/home/other" } }), "vllm");
    assert.equal(exact?.verdict, "can hit", "vLLM's own values win over what HOME would give");
    assert.ok(!exact?.factors.some((f) => f.name === "other vLLM factors"), "every factor checked");
    const [off] = levels(onT4(withVllm({ ...env, VLLM_DP_SIZE: 2 })), "vllm");
    assert.equal(off?.because, "VLLM_DP_SIZE differs: 1 vs 2");
    // no probe answer at all (no such Python): unknown, not "the same"
    const none = mcm(["explain", "--cache-dir", gkm, "--python", "/nonexistent/python3", "--json"], {
      db: dbIn(tempDir()),
      env: { PATH: `${fakeTools({})}:/usr/bin:/bin` },
    });
    const [unknownV] = levels(JSON.parse(none.stdout) as Explained, "vllm");
    assert.equal(unknownV?.verdict, "unknown");
    assert.match(unknownV?.factors[0]?.here ?? "", /unknown \(\/nonexistent\/python3 not found on PATH\)/);
    const c = run("check", gkm, t4, { gpu: "Tesla T4", cc: "7.5", env: { HOME: "/home/other" } });
    assert.match(
      c.stdout,
      /1 vLLM compile folder cannot hit \(.*\): vLLM will compute another hash and compile into a new folder/,
    );
  });
});

/**
 * The Inductor fixture as `mcm warm` would leave it: mcm-warm.json holds the probe
 * of the machine that made it (the real probe, over the stand-ins answering `base`).
 */
function warmedCopy(): string {
  const warmed = extractFixture("torchinductor_root");
  mcm(["relocate", "--cache-dir", warmed, "-y"], { db: dbIn(tempDir()) });
  const file = join(tempDir(), "answers.json");
  writeFileSync(file, JSON.stringify(base));
  const probe = JSON.parse(
    execFileSync(PYTHON, [join(import.meta.dirname, "../../python/mcm_probe.py")], {
      env: { ...process.env, PYTHONPATH: STANDIN, MCM_STANDIN: file, TMPDIR: tempDir() },
    }).toString(),
  );
  writeFileSync(join(warmed, "mcm-warm.json"), JSON.stringify({ format: "mcm-warm/1", probe }));
  return warmed;
}
