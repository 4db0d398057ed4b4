// `mcm warm` in container mode against real podman. The image stands in for vLLM (see helpers/podman.ts).
import assert from "node:assert/strict";
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { dbIn, mcm } from "../helpers/cli.js";
import { cleanupTemp, extractFixture, tempDir } from "../helpers/fixtures.js";
import { buildFakeVllmImage, FAKE_VLLM_IMAGE, type PodmanEnv, podman, podmanEnv } from "../helpers/podman.js";
import { missing, TOOLS } from "../helpers/tools.js";
import { snapshot } from "../helpers/tree.js";

const skip = missing(TOOLS.podman, TOOLS.runc, TOOLS.busybox);

after(cleanupTemp);

const BIN = new URL("../../bin/mcm", import.meta.url).pathname;
const TOKEN = "hf_TestTokenValue1234567890abcdef";
let p: PodmanEnv;

before(() => {
  if (skip) return;
  p = podmanEnv();
  buildFakeVllmImage(p);
});
after(() => {
  if (p) podman(p, ["rm", "-a", "-f"]);
});

function warm(args: string[], env: Record<string, string> = {}) {
  const host = tempDir();
  const r = mcm(["warm", "--engine", "podman", "--host-cache-dir", host, ...args], {
    db: dbIn(tempDir()),
    env: { ...p.env, ...env },
  });
  return { ...r, host };
}

function tokenFile(): string {
  const f = join(tempDir(), "token");
  writeFileSync(f, `${TOKEN}\n`, { mode: 0o600 });
  return f;
}

/** Watches every process's argv while `child` runs: which held the token, and whether the engine ran. */
async function argvWhileRunning(child: ChildProcess) {
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (d) => (stdout += d));
  child.stderr?.on("data", (d) => (stderr += d));
  const leaks: string[] = [];
  let sawEngine = false;
  const scan = setInterval(() => {
    for (const pid of readdirSync("/proc").filter((x) => /^\d+$/.test(x))) {
      let cmd = "";
      try {
        cmd = readFileSync(`/proc/${pid}/cmdline`, "utf8").replace(/\0/g, " ");
      } catch {
        continue;
      }
      if (cmd.includes(TOKEN)) leaks.push(cmd);
      if (cmd.includes("podman run") && cmd.includes("-e HF_TOKEN ")) sawEngine = true;
    }
  }, 200);
  const code = await new Promise<number | null>((res) => child.on("close", res));
  clearInterval(scan);
  return { code, stdout, stderr, leaks, sawEngine };
}

const TOKEN_SHA = createHash("sha256").update(TOKEN).digest("hex");

function containers(): string[] {
  return podman(p, ["ps", "-a", "--format", "{{.Names}}"]).stdout.split("\n").filter(Boolean);
}

describe("mcm warm (podman)", { skip }, () => {
  it("runs the image's python3 on the mounted script, captures the cache, indexes it and writes the manifest", () => {
    const r = warm(
      [
        "--no-gpu",
        "--image",
        FAKE_VLLM_IMAGE,
        "--model",
        "org/tiny-model",
        "--prompt",
        "a b",
        "--prompt",
        "c",
        "--tensor-parallel-size",
        "2",
        "--max-model-len",
        "512",
        "--env",
        "EXTRA=hello",
        "--hugging-face-token-file",
        tokenFile(),
        "--json",
      ],
      {},
    );
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as {
      folder: string;
      kernels: number;
      targets: { backend: string; arch: string; kernels: number }[];
      manifest: string;
    };
    assert.match(out.folder, /\/cache_\d{4}-\d\d-\d\d_\d\d-\d\d-\d\d$/);
    assert.equal(join(out.folder, ".."), r.host);
    assert.equal(out.kernels, 55);
    assert.deepEqual(
      out.targets.map((t) => [t.backend, t.arch, t.kernels]),
      [["cuda", "90", 55]],
    );
    // the container wrote exactly the stand-in's cache, plus mcm's manifest
    const fixture = snapshot(extractFixture("vllm-cache"));
    const got = snapshot(out.folder);
    assert.ok(got.some((l) => l.startsWith("mcm-warm.json ")));
    assert.deepEqual(
      got.filter((l) => !l.startsWith("mcm-warm.json ")),
      fixture,
    );
    // what reached the container
    assert.match(r.stderr, /fake vllm: model=org\/tiny-model prompts=\["a b","c"\] tp=2 len=512/);
    assert.match(r.stderr, /fake vllm: extra=hello/);
    const sha = createHash("sha256").update(TOKEN).digest("hex");
    assert.match(r.stderr, new RegExp(`token sha256 ${sha}`));
    const manifestText = readFileSync(out.manifest, "utf8");
    for (const text of [r.stdout, r.stderr, manifestText]) assert.ok(!text.includes(TOKEN), "token value leaked");
    const m = JSON.parse(manifestText);
    assert.equal(m.format, "mcm-warm/1");
    assert.equal(m.mode, "container");
    assert.equal(m.model, "org/tiny-model");
    assert.equal(m.image, FAKE_VLLM_IMAGE);
    assert.match(m.image_digest, /^sha256:[0-9a-f]{64}$/);
    assert.equal(m.engine, "podman");
    assert.equal(m.vllm_version, "0.0.0+fake");
    assert.equal(m.triton_version, "3.6.0");
    assert.deepEqual(m.gpu, { name: "stand-in", backend: "cuda", arch: "90", count: 1 });
    assert.deepEqual(m.prompts, ["a b", "c"]);
    assert.equal(m.tensor_parallel_size, 2);
    assert.deepEqual(m.caches, [{ path: ".", layout: "vllm", kernels: 55, bytes: m.caches[0].bytes }]);
    assert.ok(Date.parse(m.finished_at) >= Date.parse(m.started_at));
    assert.deepEqual(containers(), [], "the container was removed");
  });

  it("prints a human summary, and the token from HF_TOKEN never shows in any process's argv", async () => {
    const host = tempDir();
    const child = spawn(
      process.execPath,
      [BIN, "warm", "--no-gpu", "--image", FAKE_VLLM_IMAGE, "--host-cache-dir", host, "--env", "FAKE_SLEEP=3"],
      { env: { ...process.env, ...p.env, MCM_DB: dbIn(tempDir()), HF_TOKEN: TOKEN, NO_COLOR: "1" } },
    );
    const { code, stdout, stderr, leaks, sawEngine } = await argvWhileRunning(child);
    assert.equal(code, 0, stderr);
    assert.deepEqual(leaks, []);
    assert.ok(sawEngine, "saw `podman run ... -e HF_TOKEN` while it ran");
    assert.match(stderr, new RegExp(`token sha256 ${TOKEN_SHA}`));
    assert.match(stdout, /^Warmed facebook\/opt-125m in .*: 55 kernels, /);
    assert.match(stdout, /cuda 90 \(warp 32\): 55 kernels/);
    assert.ok(!stdout.includes(TOKEN) && !stderr.includes(TOKEN));
  });

  it("--hugging-face-token-file (a file, or - for stdin): the token reaches the container, never any argv", async () => {
    for (const from of ["file", "stdin"] as const) {
      const args = ["--hugging-face-token-file", from === "file" ? tokenFile() : "-"];
      const child = spawn(
        process.execPath,
        [BIN, "warm", "--no-gpu", "--image", FAKE_VLLM_IMAGE, "--host-cache-dir", tempDir(), ...args],
        { env: { ...process.env, ...p.env, MCM_DB: dbIn(tempDir()), HF_TOKEN: "", FAKE_SLEEP: "2", NO_COLOR: "1" } },
      );
      if (from === "stdin") child.stdin?.end(`${TOKEN}\n`);
      else child.stdin?.end();
      const r = await argvWhileRunning(child);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(r.leaks, [], from);
      assert.ok(r.sawEngine, `${from}: saw \`podman run ... -e HF_TOKEN\``);
      assert.match(r.stderr, new RegExp(`token sha256 ${TOKEN_SHA}`), from);
      assert.ok(!r.stdout.includes(TOKEN) && !r.stderr.includes(TOKEN));
    }
  });

  it("--hugging-face-token VALUE is refused in one line that names HF_TOKEN and --hugging-face-token-file", () => {
    for (const args of [["--hugging-face-token", TOKEN], [`--hugging-face-token=${TOKEN}`], ["--hugging-face-token"]]) {
      const r = warm(["--no-gpu", "--image", FAKE_VLLM_IMAGE, ...args]);
      assert.equal(r.code, 2, r.stderr);
      assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
      assert.match(r.stderr, /^mcm: .*HF_TOKEN.*--hugging-face-token-file/);
      assert.ok(!r.stderr.includes(TOKEN));
      assert.deepEqual(readdirSync(r.host), [], "nothing ran");
    }
    const help = mcm(["warm", "--help"], { db: dbIn(tempDir()) }).stdout;
    assert.match(help, /--hugging-face-token-file <path>/);
    assert.match(help, /HF_TOKEN/);
    assert.doesNotMatch(help, /--hugging-face-token </);
  });

  it("a missing or empty token file is one line, exit 2", () => {
    const missingFile = warm(["--no-gpu", "--hugging-face-token-file", join(tempDir(), "nope")]);
    assert.equal(missingFile.code, 2);
    assert.match(missingFile.stderr, /^mcm: cannot read --hugging-face-token-file .*nope: no such file\n$/);
    const empty = join(tempDir(), "empty");
    writeFileSync(empty, "\n");
    const e = warm(["--no-gpu", "--hugging-face-token-file", empty]);
    assert.equal(e.code, 2);
    assert.match(e.stderr, /^mcm: --hugging-face-token-file .*empty holds no token\n$/);
  });

  it("--tarball packs the warmed cache: the archive extracts to the same files and imports elsewhere", () => {
    const out = join(tempDir(), "warmed_cache.tar.gz");
    const r = warm(["--no-gpu", "--image", FAKE_VLLM_IMAGE, "--tarball", "--output", out, "--json"]);
    assert.equal(r.code, 0, r.stderr);
    const res = JSON.parse(r.stdout) as { folder: string; archive: { path: string; bytes: number; sha256: string } };
    assert.equal(res.archive.path, out);
    assert.equal(res.archive.bytes, statSync(out).size);
    assert.equal(res.archive.sha256, createHash("sha256").update(readFileSync(out)).digest("hex"));
    assert.deepEqual(readdirSync(join(out, "..")), ["warmed_cache.tar.gz"], "no temporary file is left");
    const x = tempDir();
    execFileSync("tar", ["xzf", out, "-C", x]);
    const got = snapshot(x).filter((l) => !l.startsWith("mcm-manifest.json "));
    assert.deepEqual(got, snapshot(res.folder));
    const dest = join(tempDir(), "vllm");
    const db = dbIn(tempDir());
    const imp = mcm(["import", out, "--cache-dir", dest, "--json"], { db });
    assert.equal(imp.code, 0, imp.stderr);
    const stats = JSON.parse(mcm(["stats", "--cache-dir", dest, "--json"], { db }).stdout);
    assert.equal(stats.kernels, 55);
    assert.equal(stats.staleGroupPaths, 0);
  });

  for (const [format, kernels, arch, units] of [
    ["binary", 16, "75", 17],
    ["aot", 3, "90", 1],
  ] as const) {
    it(`captures and packs current vLLM's ${format} layout: its compile units and the kernels they embed`, () => {
      const out = join(tempDir(), "warmed_cache.tar.gz");
      const r = warm([
        "--no-gpu",
        "--image",
        FAKE_VLLM_IMAGE,
        "--env",
        `FAKE_FORMAT=${format}`,
        "--tarball",
        "--output",
        out,
        "--json",
      ]);
      assert.equal(r.code, 0, r.stderr);
      const res = JSON.parse(r.stdout) as { folder: string; kernels: number; targets: { arch: string }[] };
      assert.equal(res.kernels, kernels);
      assert.deepEqual(
        res.targets.map((t) => t.arch),
        [arch],
      );
      const dest = join(tempDir(), "vllm");
      const db = dbIn(tempDir());
      const imp = mcm(["import", out, "--cache-dir", dest, "--json"], { db });
      assert.equal(imp.code, 0, imp.stderr);
      const stats = JSON.parse(mcm(["stats", "--cache-dir", dest, "--json"], { db }).stdout);
      assert.equal(stats.kernels, kernels);
      assert.equal(
        stats.compileUnits.reduce((n: number, u: { units: number }) => n + u.units, 0),
        units,
      );
    });
  }

  it("a failed warm never leaves an archive at --output", () => {
    const out = join(tempDir(), "warmed_cache.tar.gz");
    const r = warm(["--no-gpu", "--image", FAKE_VLLM_IMAGE, "--env", "FAKE_FAIL=1", "--tarball", "--output", out]);
    assert.equal(r.code, 2);
    assert.deepEqual(readdirSync(join(out, "..")), []);
  });

  it("--dry-run prints the argv: CDI GPU, no --privileged, token hidden; nothing runs", () => {
    const secrets = ["--env", "VLLM_API_KEY=sekrit1", "--env", "DB_PASSWORD=sekrit2", "--env", "EXTRA=shown"];
    const r = warm(["--dry-run", "--json", "--model", "EleutherAI/gpt-neo-125M", ...secrets], { HF_TOKEN: TOKEN });
    assert.equal(r.code, 0, r.stderr);
    assert.ok(!r.stdout.includes(TOKEN));
    assert.ok(!r.stdout.includes("sekrit"), r.stdout);
    const plan = JSON.parse(r.stdout) as { argv: string[]; env: Record<string, string>; image: string };
    assert.equal(plan.image, "docker.io/vllm/vllm-openai:latest");
    assert.ok(!plan.argv.includes("--privileged"));
    assert.deepEqual(plan.argv.slice(plan.argv.indexOf("--device"), plan.argv.indexOf("--device") + 2), [
      "--device",
      "nvidia.com/gpu=all",
    ]);
    assert.ok(plan.argv.includes("HF_TOKEN"));
    assert.equal(plan.env.HF_TOKEN, "<redacted>");
    assert.equal(plan.env.VLLM_API_KEY, "<redacted>");
    assert.equal(plan.env.DB_PASSWORD, "<redacted>");
    assert.equal(plan.env.EXTRA, "shown");
    assert.deepEqual(readdirSync(r.host), [], "a dry run creates nothing");
    const human = warm(["--dry-run", "--hugging-face-token-file", tokenFile(), "--tarball", ...secrets]);
    assert.equal(human.code, 0, human.stderr);
    assert.ok(!human.stdout.includes(TOKEN));
    assert.ok(!human.stdout.includes("sekrit"), human.stdout);
    assert.match(human.stdout, /env: HF_TOKEN=<redacted>/);
    assert.match(human.stdout, /env: VLLM_API_KEY=<redacted>/);
    assert.match(human.stdout, /env: EXTRA=shown/);
    assert.match(human.stdout, /then pack: .*warmed_cache\.tar\.gz/);
  });

  it("no GPU for the engine: the engine's CDI error, translated; nothing left behind", () => {
    const r = warm(["--image", FAKE_VLLM_IMAGE]);
    assert.equal(r.code, 2);
    assert.match(
      r.stderr,
      /mcm: no NVIDIA GPU available to podman \(.*nvidia\.com\/gpu=all.*\): install nvidia-container-toolkit/,
    );
    assert.deepEqual(readdirSync(r.host), []);
    const rocm = warm(["--rocm", "--image", FAKE_VLLM_IMAGE]);
    assert.equal(rocm.code, 2);
    assert.match(rocm.stderr, /mcm: no AMD GPU available to podman .*\/dev\/kfd/);
  });

  it("a missing image that cannot be pulled is one line, exit 2", () => {
    const r = warm(["--no-gpu", "--image", "localhost/mcm-no-such-image:1"]);
    assert.equal(r.code, 2);
    assert.match(
      r.stderr,
      /^mcm: image localhost\/mcm-no-such-image:1 is not available locally and could not be pulled: /m,
    );
    assert.deepEqual(readdirSync(r.host), []);
  });

  it("a container that exits non-zero: exit 2 with its last log lines", () => {
    const r = warm(["--no-gpu", "--image", FAKE_VLLM_IMAGE, "--env", "FAKE_FAIL=1"]);
    assert.equal(r.code, 2);
    assert.match(
      r.stderr,
      /mcm: the container exited with code 3; its last lines:\n(.*\n)*.*CUDA error: out of memory/,
    );
    assert.deepEqual(readdirSync(r.host), [], "the empty capture folder is removed");
    assert.deepEqual(containers(), []);
  });

  it("--timeout stops and removes the container", () => {
    const t0 = Date.now();
    const r = warm(["--no-gpu", "--image", FAKE_VLLM_IMAGE, "--env", "FAKE_SLEEP=60", "--timeout", "3s"]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /mcm: timed out after 3s: the container stopped/);
    assert.ok(Date.now() - t0 < 40_000);
    assert.deepEqual(containers(), []);
  });

  it("Ctrl-C stops and removes the container", async () => {
    const host = tempDir();
    const child = spawn(
      process.execPath,
      [BIN, "warm", "--no-gpu", "--image", FAKE_VLLM_IMAGE, "--host-cache-dir", host, "--env", "FAKE_SLEEP=60"],
      { env: { ...process.env, ...p.env, MCM_DB: dbIn(tempDir()), NO_COLOR: "1" } },
    );
    let stderr = "";
    child.stderr.on("data", (d) => (stderr += d));
    const deadline = Date.now() + 30_000;
    while (!containers().some((n) => n.startsWith("mcm-warm-")) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.ok(
      containers().some((n) => n.startsWith("mcm-warm-")),
      "the container started",
    );
    const t0 = Date.now();
    child.kill("SIGINT");
    const code = await new Promise<number | null>((res) => child.on("close", res));
    assert.equal(code, 130, stderr);
    assert.ok(Date.now() - t0 < 30_000);
    assert.match(stderr, /mcm: interrupted: the container stopped/);
    assert.deepEqual(containers(), []);
  });

  it("engine not installed: says how to install it", () => {
    const r = warm(["--no-gpu"], { PATH: "/nonexistent" });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^mcm: podman is not installed or not on PATH: install podman/m);
    const auto = mcm(["warm", "--host-cache-dir", tempDir()], { db: dbIn(tempDir()), env: { PATH: "/nonexistent" } });
    assert.equal(auto.code, 2);
    assert.match(auto.stderr, /^mcm: no container engine found: install podman/m);
  });

  it("the original tool's examples parse and plan unchanged", () => {
    const a = warm([
      "--model",
      "EleutherAI/gpt-neo-125M",
      "--tarball",
      "--output",
      "my_gpt_neo_cache.tar.gz",
      "--dry-run",
      "--json",
    ]);
    assert.equal(a.code, 0, a.stderr);
    assert.match(JSON.parse(a.stdout).tarball, /\/my_gpt_neo_cache\.tar\.gz$/);
    const b = warm(["--model", "Llama-3-8B", "--rocm", "--dry-run", "--json"], { HF_TOKEN: "hf_YOUR_TOKEN" });
    assert.equal(b.code, 0, b.stderr);
    const plan = JSON.parse(b.stdout) as { argv: string[]; image: string };
    assert.equal(plan.image, "docker.io/rocm/vllm:latest");
    assert.ok(plan.argv.includes("/dev/kfd") && plan.argv.includes("seccomp=unconfined"));
    assert.ok(!b.stdout.includes("hf_YOUR_TOKEN"));
    const c = warm(["--vllm_cache_dir", "/cache/v", "--dry-run", "--json"]);
    assert.ok(JSON.parse(c.stdout).argv.some((x: string) => x.endsWith(":/cache/v:Z,rw")));
    assert.ok(existsSync(BIN));
  });
});
