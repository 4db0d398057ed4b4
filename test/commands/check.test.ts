// `mcm check` end to end on the real H100 fixture (cuda 90, Triton 3.6.0), with fake
// nvidia-smi/python3 alone on PATH: this machine has no GPU (see helpers/fake-tools.ts).
import assert from "node:assert/strict";
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { dbIn, mcm } from "../helpers/cli.js";
import { fakeTools, H100, prints, TRITON_360 } from "../helpers/fake-tools.js";
import { cleanupTemp, extractFixture, tempDir } from "../helpers/fixtures.js";

after(cleanupTemp);

interface CheckJson {
  cacheDirs: string[];
  machine: { gpus: { arch: string }[]; unchecked: { what: string; reason: string }[]; triton: unknown };
  kernels: number;
  usable: number;
  unusable: number;
  unchecked: number;
  groups: {
    backend: string;
    arch: string;
    tritonVersion: string;
    staleGroupPaths: boolean;
    kernels: number;
    status: string;
  }[];
  reasons: { code: string; message: string; kernels: number }[];
  uncheckedReasons: { code: string; message: string; kernels: number }[];
}

/** What `mcm relocate` does: point each group file at the kernel's own folder. */
function groupPathsCurrent(root: string): void {
  for (const key of readdirSync(root)) {
    const dir = join(root, key);
    for (const f of readdirSync(dir).filter((x) => x.startsWith("__grp__"))) {
      const g = JSON.parse(readFileSync(join(dir, f), "utf8")) as { child_paths: Record<string, string> };
      for (const c of Object.keys(g.child_paths)) g.child_paths[c] = join(dir, c);
      writeFileSync(join(dir, f), JSON.stringify(g));
    }
  }
}

let stale: string;
let current: string;
const h100 = () => ({ PATH: fakeTools({ "nvidia-smi": H100, python3: TRITON_360 }) });
const check = (dir: string, env: Record<string, string>, ...more: string[]) =>
  mcm(["check", "--cache-dir", dir, ...more], { db: dbIn(tempDir()), env });
const checkJson = (dir: string, env: Record<string, string>) => {
  const r = check(dir, env, "--json");
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as CheckJson;
};

before(() => {
  stale = extractFixture("triton-cache");
  current = extractFixture("triton-cache");
  groupPathsCurrent(current);
});

describe("mcm check", () => {
  it("the fixture extracted elsewhere on an H100 with Triton 3.6.0: stale group paths are the only reason", () => {
    const r = check(stale, h100());
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /GPU 0 {2}NVIDIA H100 80GB HBM3 {2}cuda 90\n/);
    assert.match(r.stdout, /Triton 3\.6\.0 \(python3\)/);
    assert.match(r.stdout, /not checked: AMD GPUs: rocminfo not found on PATH; amd-smi not found on PATH/);
    assert.match(r.stdout, /^cuda +90 +32 +3\.6\.0 +stale +14 +[\d.]+ \w+ +cannot hit$/m);
    assert.match(r.stdout, /^0 of 14 kernels can be used here$/m);
    assert.match(r.stdout, /^ {2}14 kernels: group paths stale: they point at the cache's old location/m);
    const j = checkJson(stale, h100());
    assert.deepEqual([j.kernels, j.usable, j.unusable, j.unchecked], [14, 0, 14, 0]);
    assert.deepEqual(
      j.reasons.map((x) => [x.code, x.kernels]),
      [["stale-group-paths", 14]],
    );
    assert.deepEqual(j.cacheDirs, [stale]);
  });

  it("with group paths current: all 14 can be used here", () => {
    const r = check(current, h100());
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^cuda +90 +32 +3\.6\.0 +current +14 .* can hit$/m);
    assert.match(r.stdout, /^14 of 14 kernels can be used here$/m);
    assert.doesNotMatch(r.stdout, /cannot hit:/);
    const r2 = check(current, h100(), "--strict");
    assert.equal(r2.code, 0);
  });

  it("another GPU and another Triton: each is a reason", () => {
    const env = { PATH: fakeTools({ "nvidia-smi": prints("NVIDIA A100-SXM4-80GB, 8.0"), python3: prints("3.5.1") }) };
    const j = checkJson(current, env);
    assert.equal(j.usable, 0);
    assert.deepEqual(
      j.reasons.map((x) => [x.code, x.kernels, x.message]),
      [
        ["arch-mismatch", 14, "built for cuda 90; this machine's NVIDIA GPUs are 80"],
        ["triton-version-mismatch", 14, "built by Triton 3.6.0; python3 has Triton 3.5.1"],
      ],
    );
    const r = check(current, env);
    assert.match(
      r.stdout,
      /^14 kernels cannot hit:\n {2}14 kernels: built for cuda 90; this machine's NVIDIA GPUs are 80\n/m,
    );
  });

  it("--python picks the Python whose Triton counts", () => {
    const tools = fakeTools({ "nvidia-smi": H100, python3: prints("3.5.1") });
    const venv = join(tools, "venv-python");
    writeFileSync(venv, "#!/bin/sh\necho 3.6.0\n", { mode: 0o755 });
    const r = check(current, { PATH: tools }, "--python", venv);
    assert.match(r.stdout, /^14 of 14 kernels can be used here$/m);
  });

  it("no tools: nothing is usable, everything says what could not be checked; --strict exits 1", () => {
    const env = { PATH: fakeTools({}) };
    const r = check(current, env);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /GPUs: unknown \(no tool could list them\)/);
    assert.match(r.stdout, /not checked: NVIDIA GPUs: nvidia-smi not found on PATH/);
    assert.match(r.stdout, /not checked: Triton version: python3 not found on PATH/);
    assert.match(r.stdout, /^0 of 14 kernels can be used here\n14 kernels could not be checked:\n/m);
    assert.match(r.stdout, /^ {2}14 kernels: NVIDIA GPUs not checked: nvidia-smi not found on PATH$/m);
    const j = checkJson(current, env);
    assert.deepEqual([j.usable, j.unusable, j.unchecked], [0, 0, 14]);
    assert.deepEqual(
      j.machine.unchecked.map((u) => u.what),
      ["nvidia", "amd", "triton"],
    );
    assert.equal(check(current, env, "--strict").code, 1);
  });

  it("an empty cache exits 1; --json still prints the report", () => {
    const empty = join(tempDir(), "triton-cache");
    mkdirSync(empty);
    const r = check(empty, h100());
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^mcm: no kernels indexed under /);
    const j = check(empty, h100(), "--json");
    assert.equal(j.code, 1);
    assert.equal((JSON.parse(j.stdout) as CheckJson).kernels, 0);
  });
});

describe("mcm check on vLLM compile units: the targets and Triton version embedded in them", () => {
  it("GKM's T4 cache: can hit on a T4 with Triton 3.5.1; on an H100 with Triton 3.6.0 each is a reason", () => {
    const llama = extractFixture("llama-binary-cache");
    const t4 = { PATH: fakeTools({ "nvidia-smi": prints("Tesla T4, 7.5"), python3: prints("3.5.1") }) };
    const ok = checkJson(llama, t4);
    assert.deepEqual([ok.kernels, ok.usable, ok.unusable], [16, 16, 0]);
    const no = checkJson(llama, h100());
    assert.equal(no.usable, 0);
    assert.deepEqual(
      no.reasons.map((x) => [x.code, x.kernels]),
      [
        ["arch-mismatch", 16],
        ["triton-version-mismatch", 16],
      ],
    );
  });
});
