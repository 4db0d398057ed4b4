import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { containerRunPlan, engineEnv, gpuFlags, translateEngineError } from "../../src/warm/container.js";
import { hostGroups } from "../../src/warm/host-facts.js";
import { type ContainerTarget, captureFolderName, parseWarmRequest } from "../../src/warm/request.js";

const target = (over: Partial<ContainerTarget> = {}): ContainerTarget => ({
  ...(parseWarmRequest({}, [], {}).target as ContainerTarget),
  ...over,
});

describe("warm request", () => {
  it("has the original tool's defaults", () => {
    const r = parseWarmRequest({}, [], {});
    assert.equal(r.output, "warmed_cache.tar.gz");
    assert.equal(r.hostCacheDir, "./");
    assert.equal(r.tarball, false);
    const t = r.target as ContainerTarget;
    assert.equal(t.model, "facebook/opt-125m");
    assert.equal(t.containerCacheDir, "/root/.cache/vllm/");
    assert.equal(t.image, "docker.io/vllm/vllm-openai:latest");
    assert.equal(
      (parseWarmRequest({ rocm: true }, [], {}).target as ContainerTarget).image,
      "docker.io/rocm/vllm:latest",
    );
  });

  it("takes images and engine from the config, the token from HF_TOKEN, flags first", () => {
    const d = { image: "cfg/cuda", rocmImage: "cfg/rocm", engine: "docker", envToken: "hf_env" };
    const r = parseWarmRequest({}, [], d);
    assert.equal((r.target as ContainerTarget).image, "cfg/cuda");
    assert.equal((r.target as ContainerTarget).engine, "docker");
    assert.equal(r.hfToken, "hf_env");
    assert.equal((parseWarmRequest({ rocm: true }, [], d).target as ContainerTarget).image, "cfg/rocm");
    const f = parseWarmRequest({ image: "x/y", engine: "podman", huggingFaceTokenFile: "/t" }, [], {
      ...d,
      readTokenFile: (path) => `hf_file${path}`,
    });
    assert.equal((f.target as ContainerTarget).image, "x/y");
    assert.equal(f.hfToken, "hf_file/t", "the file before HF_TOKEN");
    assert.equal((parseWarmRequest({ vllmCacheDir: "/a" }, [], {}).target as ContainerTarget).containerCacheDir, "/a");
    assert.equal(
      (parseWarmRequest({ vllm_cache_dir: "/b" }, [], {}).target as ContainerTarget).containerCacheDir,
      "/b",
    );
  });

  it("refuses bad values with one line", () => {
    assert.throws(
      () => parseWarmRequest({ tensorParallelSize: "0" }, [], {}),
      /--tensor-parallel-size needs a whole number above 0, not '0'/,
    );
    assert.throws(
      () => parseWarmRequest({ maxModelLen: "99999999999999999999" }, [], {}),
      /--max-model-len 99999999999999999999 is too big/,
    );
    assert.throws(() => parseWarmRequest({ env: ["NOVALUE"] }, [], {}), /--env NOVALUE: NOVALUE is not set/);
    assert.deepEqual(parseWarmRequest({ env: ["A"] }, [], { environ: { A: "1" } }).env, [["A", "1"]]);
    assert.throws(() => parseWarmRequest({ env: ["1A=sekrit"] }, [], {}), /--env needs KEY=VALUE or KEY, not '1A'$/);
    for (const huggingFaceToken of ["hf_x", true]) {
      assert.throws(
        () => parseWarmRequest({ huggingFaceToken }, [], {}),
        /set HF_TOKEN or use --hugging-face-token-file/,
      );
    }
    assert.throws(() => parseWarmRequest({ timeout: "soon" }, [], {}), /invalid duration 'soon'/);
    assert.throws(() => parseWarmRequest({ vllm_cache_dir: "rel" }, [], {}), /absolute path inside the container/);
    assert.throws(
      () => parseWarmRequest({}, [], { engine: "lxc" }),
      /warm.engine in the config file must be podman or docker/,
    );
  });

  it("names the folder cache_<YYYY-MM-DD_HH-MM-SS> in local time", () => {
    assert.equal(captureFolderName(new Date(2026, 0, 2, 3, 4, 5)), "cache_2026-01-02_03-04-05");
  });
});

describe("container run plan", () => {
  const plan = (engine: "podman" | "docker", t: ContainerTarget, token = true) =>
    containerRunPlan({
      engine,
      target: t,
      containerName: "c1",
      captureDir: "/h/cache_x",
      scriptDir: "/tmp/s",
      groups: { video: 44, render: 993 },
      userEnv: [["A", "1"]],
      hasToken: token,
    });

  it("docker gets --gpus all; podman the CDI device; neither --privileged", () => {
    const d = plan("docker", target());
    assert.deepEqual(d.argv.slice(d.argv.indexOf("--gpus"), d.argv.indexOf("--gpus") + 2), ["--gpus", "all"]);
    const p = plan("podman", target());
    assert.ok(p.argv.includes("nvidia.com/gpu=all"));
    for (const x of [d, p]) {
      assert.ok(!x.argv.includes("--privileged"));
      assert.equal(x.argv[x.argv.indexOf("--entrypoint") + 1], "python3");
      assert.ok(x.argv.includes("/tmp/s:/opt/mcm:ro,Z"));
      assert.ok(x.argv.includes("/h/cache_x:/root/.cache/vllm/:Z,rw"));
      assert.equal(x.argv.at(-1), "/opt/mcm/mcm_warm.py");
    }
  });

  it("ROCm: kfd, dri, numeric video and render groups, seccomp unconfined", () => {
    const r = plan("docker", target({ rocm: true }));
    const i = r.argv.indexOf("--device");
    assert.deepEqual(r.argv.slice(i, i + 10), [
      "--device",
      "/dev/kfd",
      "--device",
      "/dev/dri",
      "--group-add",
      "44",
      "--group-add",
      "993",
      "--security-opt",
      "seccomp=unconfined",
    ]);
    assert.deepEqual(gpuFlags("podman", target({ gpu: false }), {}), []);
  });

  it("every value travels in the engine's environment; the token only when given", () => {
    const p = plan("podman", target({ prompts: ["x y"], maxModelLen: 64 }));
    const e = p.argv.filter((_, i) => p.argv[i - 1] === "-e");
    assert.deepEqual(e, [
      "VLLM_CACHE_ROOT",
      "MCM_WARM_MODEL",
      "MCM_WARM_PROMPTS",
      "MCM_WARM_MAX_MODEL_LEN",
      "A",
      "HF_TOKEN",
    ]);
    assert.ok(
      p.argv.every(
        (a) =>
          !a.includes("=") ||
          a.includes(":") ||
          a === "--pull=never" ||
          a === "--ipc=host" ||
          a === "nvidia.com/gpu=all",
      ),
    );
    const env = engineEnv(p, "hf_secret");
    assert.equal(env.HF_TOKEN, "hf_secret");
    assert.equal(env.MCM_WARM_PROMPTS, '["x y"]');
    assert.equal(engineEnv(plan("podman", target(), false), "hf_secret").HF_TOKEN, undefined);
  });

  it("translates engine errors into one actionable line", () => {
    assert.match(
      translateEngineError(
        "docker",
        false,
        'docker: Error response from daemon: could not select device driver "" with capabilities: [[gpu]].',
      ) ?? "",
      /^no NVIDIA GPU available to docker .*nvidia-container-toolkit/,
    );
    assert.match(
      translateEngineError(
        "docker",
        false,
        "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?",
      ) ?? "",
      /^the docker daemon is not running/,
    );
    assert.equal(translateEngineError("podman", false, "Error: something else"), null);
  });

  it("reads the video and render group ids", () => {
    const dir = mkdtempSync(join(tmpdir(), "mcm-groups-"));
    writeFileSync(join(dir, "group"), "root:x:0:\nvideo:x:44:alice\nrender:x:993:\nusers:x:100:\n");
    assert.deepEqual(hostGroups(join(dir, "group")), { video: 44, render: 993 });
    rmSync(dir, { recursive: true });
    assert.deepEqual(hostGroups("/nonexistent"), {});
  });
});
