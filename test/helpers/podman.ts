// Real podman with a private store and config, and a small local image that stands in for vLLM.
// No GPU and no vLLM can run in CI: the image's `python3` is a shell script that copies a real
// vLLM cache into the mounted cache folder, as vLLM would after compiling. FAKE_FORMAT picks
// which: the legacy layout (H100, default), current vLLM's binary artifacts (GKM's Llama cache,
// written by vLLM), or an AOT model (made on an H200).
import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, copyFileSync, mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { extractFixture, tempDir } from "./fixtures.js";

export const FAKE_VLLM_IMAGE = "localhost/mcm-fake-vllm:test";

/** Stands in for the image's python3; the argument must be mcm's mounted warm script. */
const FAKE_PYTHON = `#!/bin/sh
case "$1" in /opt/mcm/mcm_warm.py) ;; *) echo "fake python3: unexpected script '$1'" >&2; exit 9 ;; esac
[ -r "$1" ] || { echo "fake python3: warm script not mounted" >&2; exit 9; }
echo "MCM-PHASE loading-model"
echo "fake vllm: model=$MCM_WARM_MODEL prompts=$MCM_WARM_PROMPTS tp=$MCM_WARM_TP len=$MCM_WARM_MAX_MODEL_LEN"
if [ -n "$HF_TOKEN" ]; then echo "fake vllm: token sha256 $(printf %s "$HF_TOKEN" | sha256sum | cut -d' ' -f1)"; else echo "fake vllm: no token"; fi
echo "fake vllm: extra=$EXTRA"
if [ -n "$FAKE_SLEEP" ]; then sleep "$FAKE_SLEEP"; fi
if [ -n "$FAKE_FAIL" ]; then echo "RuntimeError: CUDA error: out of memory" >&2; exit 3; fi
echo "MCM-PHASE compiling"
case "$FAKE_FORMAT" in
  binary) cp -r /fixture/llama-binary-cache/. "$VLLM_CACHE_ROOT"/ ;;
  aot) cp -r /fixture/vllm-aot/. "$VLLM_CACHE_ROOT"/ ;;
  *) cp -r /fixture/vllm-cache/. "$VLLM_CACHE_ROOT"/ ;;
esac
echo 'MCM-WARM-INFO {"vllm_version": "0.0.0+fake", "torch_version": "2.11.0", "triton_version": "3.6.0", "python": "3.12.0", "gpu_name": "stand-in", "backend": "cuda", "arch": "90", "gpu_count": 1, "environment": {"variables": {}, "vllm_env_hash": null}}'
echo "MCM-PHASE done"
`;

export interface PodmanEnv {
  /** variables that point podman at the private store and config */
  env: Record<string, string>;
  dir: string;
}

/** A private podman store and config (cgroupfs, runc, ulimits within the hard limits); the test removes it. */
export function podmanEnv(): PodmanEnv {
  const dir = tempDir("mcm-podman-");
  const hard = (flag: string) =>
    Math.min(
      Number(
        execFileSync("bash", ["-c", `ulimit -H${flag}`])
          .toString()
          .trim(),
      ) || 1024,
      1024,
    );
  writeFileSync(
    join(dir, "containers.conf"),
    `[containers]\ndefault_ulimits = ["nofile=${hard("n")}:${hard("n")}", "nproc=${hard("u")}:${hard("u")}"]\n` +
      `[engine]\ncgroup_manager = "cgroupfs"\nruntime = "runc"\nevents_logger = "file"\n`,
  );
  writeFileSync(
    join(dir, "storage.conf"),
    `[storage]\ndriver = "vfs"\ngraphroot = "${dir}/root"\nrunroot = "${dir}/run"\n`,
  );
  return {
    dir,
    env: { CONTAINERS_CONF: join(dir, "containers.conf"), CONTAINERS_STORAGE_CONF: join(dir, "storage.conf") },
  };
}

export function podman(p: PodmanEnv, args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync("podman", args, { encoding: "utf8", env: { ...process.env, ...p.env } });
  // a podman that cannot run at all says why, instead of an empty stderr
  return { code: r.status ?? -1, stdout: r.stdout ?? "", stderr: r.error ? `podman: ${r.error.message}` : r.stderr };
}

/** Builds the stand-in image with `podman import` of a busybox root file system (no registry needed). */
export function buildFakeVllmImage(p: PodmanEnv): void {
  const rootfs = join(p.dir, "rootfs");
  for (const d of ["bin", "usr/bin", "tmp", "fixture", "root/.cache"]) mkdirSync(join(rootfs, d), { recursive: true });
  copyFileSync("/bin/busybox", join(rootfs, "bin/busybox"));
  for (const c of ["sh", "cp", "cat", "sleep", "echo", "sha256sum", "cut", "printf", "ls", "env"]) {
    symlinkSync("busybox", join(rootfs, "bin", c));
  }
  writeFileSync(join(rootfs, "usr/bin/python3"), FAKE_PYTHON);
  chmodSync(join(rootfs, "usr/bin/python3"), 0o755);
  for (const f of ["vllm-cache", "llama-binary-cache", "vllm-aot"] as const) extractFixture(f, join(rootfs, "fixture"));
  const tarball = join(p.dir, "rootfs.tar");
  execFileSync("tar", ["-C", rootfs, "-cf", tarball, "."]);
  const r = podman(p, ["import", "--change", "ENV PATH=/usr/bin:/bin", tarball, FAKE_VLLM_IMAGE]);
  if (r.code !== 0) throw new Error(`podman import failed (exit ${r.code}): ${r.stderr}`);
}
