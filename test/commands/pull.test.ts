// mcm pull from a real registry (docker-registry on 127.0.0.1): mcm's own images,
// images podman built in MCV's layout, digests checked, targets checked against
// a stand-in nvidia-smi (no GPU here), and podman taking what mcm pushed.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { chmodSync, cpSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { dbIn, mcm, mcmAsync } from "../helpers/cli.js";
import { cleanupTemp, extractFixture, tempDir } from "../helpers/fixtures.js";
import { type PodmanEnv, podmanEnv, podman as runPodman } from "../helpers/podman.js";
import { startRegistry, type TestRegistry } from "../helpers/registry.js";
import { missing, TOOLS } from "../helpers/tools.js";
import { fileDigests, withoutVllmIndex } from "../helpers/tree.js";

const skip = missing(TOOLS.registry, TOOLS.podman, TOOLS.runc);

interface PullJson {
  digest: string;
  kind: string;
  dest: string;
  check: { checked: boolean; ok: boolean | null; forced: boolean };
  imports: { format: string; kernels: { added: string[]; identical: string[] }; groupFilesRewritten: number }[];
  indexed: { kernels: number } | null;
}

let db: string;
let cache: string;
let reg: TestRegistry;
/** PATH with no nvidia-smi or rocminfo: the check cannot run */
let noGpuPath: string;

function fakeGpuPath(computeCap: string): string {
  const bin = tempDir();
  // a stand-in for the one thing that cannot run here: a GPU driver's nvidia-smi
  writeFileSync(join(bin, "nvidia-smi"), `#!/bin/sh\necho "NVIDIA Test GPU, ${computeCap}"\n`);
  chmodSync(join(bin, "nvidia-smi"), 0o755);
  return `${bin}:${noGpuPath}`;
}

before(async () => {
  if (skip) return;
  const dir = tempDir();
  db = dbIn(dir);
  cache = extractFixture("triton-cache", dir);
  assert.equal(mcm(["index", "--cache-dir", cache], { db }).code, 0);
  reg = await startRegistry();
  noGpuPath = (process.env.PATH ?? "")
    .split(":")
    .filter((d) => !["nvidia-smi", "rocminfo"].some((t) => readdirSafe(d).includes(t)))
    .join(":");
  const r = mcm(["push", `${reg.host}/pull/triton:v1`, "--cache-dir", cache, "--insecure"], { db });
  assert.equal(r.code, 0, r.stderr);
});

function readdirSafe(d: string): string[] {
  try {
    return readdirSync(d);
  } catch {
    return [];
  }
}

after(async () => {
  await reg?.stop();
  cleanupTemp();
});

async function pull(ref: string, dest: string, env: Record<string, string>, ...args: string[]) {
  const r = await mcmAsync(["pull", ref, "--cache-dir", dest, "--insecure", "--json", ...args], {
    db: dbIn(tempDir()),
    env,
  });
  return { ...r, json: r.code === 0 ? (JSON.parse(r.stdout) as PullJson) : undefined };
}

const kernelDirs = (dir: string) => readdirSafe(dir).filter((n) => /^[A-Z2-7]{52}$/.test(n));

describe("pull of an image mcm pushed", { skip }, () => {
  it("imports every kernel, points group files at the new folder, and indexes it", async () => {
    const dest = join(tempDir(), "cache");
    const r = await pull(`${reg.host}/pull/triton:v1`, dest, { PATH: fakeGpuPath("9.0") });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.json?.check.ok, true);
    assert.equal(r.json?.imports[0]?.format, "mcv");
    assert.equal(r.json?.imports[0]?.kernels.added.length, 14);
    assert.equal(r.json?.indexed?.kernels, 14);
    assert.equal(kernelDirs(dest).length, kernelDirs(cache).length);
    const key = kernelDirs(dest)[0] as string;
    const grp = readdirSafe(join(dest, key)).find((f) => f.startsWith("__grp__")) as string;
    const paths = Object.values(JSON.parse(readFileSync(join(dest, key, grp), "utf8")).child_paths) as string[];
    assert.ok(
      paths.every((p) => p.startsWith(`${dest}/${key}/`)),
      paths.join(", "),
    );
  });

  it("pulling again adds nothing: the kernels are already there", async () => {
    const dest = join(tempDir(), "cache");
    const env = { PATH: fakeGpuPath("9.0") };
    assert.equal((await pull(`${reg.host}/pull/triton:v1`, dest, env)).code, 0);
    const again = await pull(`${reg.host}/pull/triton:v1`, dest, env);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(again.json?.imports[0]?.kernels.added.length, 0);
    assert.equal(again.json?.imports[0]?.kernels.identical.length, 14);
  });

  it("refuses an image for other GPUs, one line, exit 2, nothing written; --force imports it", async () => {
    const dest = join(tempDir(), "cache");
    const env = { PATH: fakeGpuPath("8.0") };
    const r = await pull(`${reg.host}/pull/triton:v1`, dest, env);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /built for cuda\/90\/warp32; this machine has cuda\/80 \(NVIDIA Test GPU\): pass --force/);
    assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
    assert.deepEqual(readdirSafe(dest), []);
    const forced = await pull(`${reg.host}/pull/triton:v1`, dest, env, "--force");
    assert.equal(forced.code, 0, forced.stderr);
    assert.equal(forced.json?.check.forced, true);
    assert.equal(forced.json?.imports[0]?.kernels.added.length, 14);
    assert.equal(kernelDirs(dest).length, kernelDirs(cache).length);
  });

  it("without nvidia-smi or rocminfo, says it could not check and imports", async () => {
    const dest = join(tempDir(), "cache");
    const r = await pull(`${reg.host}/pull/triton:v1`, dest, { PATH: noGpuPath });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /could not check the image's targets \(cuda\/90\/warp32\)/);
    assert.equal(r.json?.check.checked, false);
  });

  it("--dry-run fetches and verifies, writes nothing", async () => {
    const dest = join(tempDir(), "cache");
    const r = await pull(`${reg.host}/pull/triton:v1`, dest, { PATH: noGpuPath }, "--dry-run");
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.json?.imports[0]?.kernels.added.length, 14);
    assert.deepEqual(readdirSafe(dest), []);
  });

  it("pulls by digest", async () => {
    const dest = join(tempDir(), "cache");
    const first = await pull(`${reg.host}/pull/triton:v1`, dest, { PATH: noGpuPath }, "--dry-run");
    const byDigest = await pull(
      `${reg.host}/pull/triton@${first.json?.digest}`,
      dest,
      { PATH: noGpuPath },
      "--dry-run",
    );
    assert.equal(byDigest.code, 0, byDigest.stderr);
    assert.equal(byDigest.json?.digest, first.json?.digest);
  });

  it("refuses a layer whose bytes do not match its digest (storage tampered with): exit 2, nothing imported", async () => {
    const own = await startRegistry();
    try {
      const p = mcm(["push", `${own.host}/bad/triton:v1`, "--cache-dir", cache, "--insecure", "--json"], { db });
      const layer = (JSON.parse(p.stdout) as { layer: { digest: string } }).layer.digest.slice("sha256:".length);
      const data = join(own.storage, "docker/registry/v2/blobs/sha256", layer.slice(0, 2), layer, "data");
      const bytes = readFileSync(data);
      bytes[bytes.length - 100] = (bytes[bytes.length - 100] as number) ^ 0xff;
      writeFileSync(data, bytes);
      const dest = join(tempDir(), "cache");
      const r = await pull(`${own.host}/bad/triton:v1`, dest, { PATH: noGpuPath });
      assert.equal(r.code, 2);
      assert.match(r.stderr, /does not match its digest.*nothing was imported/);
      assert.deepEqual(readdirSafe(dest), []);
    } finally {
      await own.stop();
    }
  });

  it("refuses a manifest whose bytes do not match its digest (storage tampered with), by tag and by digest: one line, exit 2, nothing imported", async () => {
    const own = await startRegistry();
    try {
      const p = mcm(["push", `${own.host}/bad/manifest:v1`, "--cache-dir", cache, "--insecure", "--json"], { db });
      assert.equal(p.code, 0, p.stderr);
      const digest = (JSON.parse(p.stdout) as { digest: string }).digest;
      const hex = digest.slice("sha256:".length);
      // the registry keeps a manifest as a blob and serves it as stored, under the digest it was pushed with
      const data = join(own.storage, "docker/registry/v2/blobs/sha256", hex.slice(0, 2), hex, "data");
      const doc = JSON.parse(readFileSync(data, "utf8")) as { annotations?: Record<string, string> };
      doc.annotations = { ...doc.annotations, "org.example.tampered": "yes" };
      writeFileSync(data, JSON.stringify(doc));
      for (const ref of [`${own.host}/bad/manifest:v1`, `${own.host}/bad/manifest@${digest}`]) {
        const dest = join(tempDir(), "cache");
        const r = await pull(ref, dest, { PATH: noGpuPath });
        assert.equal(r.code, 2, `${ref}: ${r.stderr}`);
        assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
        assert.match(r.stderr, /manifest \S+ from \S+ does not match its digest: got sha256:[0-9a-f]{64}, expected /);
        assert.ok(r.stderr.includes(`expected ${digest}`), r.stderr);
        assert.deepEqual(readdirSafe(dest), []);
      }
    } finally {
      await own.stop();
    }
  });

  it("an unknown tag: one line, exit 2", () => {
    const r = mcm(["pull", `${reg.host}/no/such:v1`, "--cache-dir", join(tempDir(), "d"), "--insecure"], { db });
    assert.equal(r.code, 2);
    assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
    assert.match(r.stderr, /no\/such:v1 not found/);
  });
});

/** podman with the private store and config of the warm tests' helper: the machine's images stay untouched. */
function podman(p: PodmanEnv, ...args: string[]): string {
  const r = runPodman(p, args);
  if (r.code !== 0) throw new Error(`podman ${args[0]} failed: ${r.stderr}`);
  return r.stdout;
}

/** `podman build` of the Containerfile in `ctx`, tagged `image`, with these labels (as MCV sets them at build time). */
function build(p: PodmanEnv, ctx: string, image: string, labels: Record<string, string>): void {
  const flags = Object.entries(labels).flatMap(([k, v]) => ["--label", `${k}=${v}`]);
  podman(p, "build", "-f", join(ctx, "Containerfile"), "-t", image, ...flags, ctx);
}

describe("interop with podman", { skip }, () => {
  it("podman pulls the image mcm pushed, with its labels and digest", () => {
    const p = podmanEnv();
    podman(p, "pull", "--tls-verify=false", `${reg.host}/pull/triton:v1`);
    const seen = podman(
      p,
      "image",
      "inspect",
      "--format",
      '{{.Digest}} {{index .Labels "cache.triton.image/entry-count"}}',
      `${reg.host}/pull/triton:v1`,
    );
    const pushed = JSON.parse(
      mcm(["push", `${reg.host}/pull/triton:v1`, "--cache-dir", cache, "--insecure", "--json"], { db }).stdout,
    );
    assert.equal(seen.trim(), `${pushed.digest} 14`);
  });

  it("mcm pulls an image podman built in MCV's layout (multi-stage FROM scratch, labels at build time)", async () => {
    const p = podmanEnv();
    const ctx = join(tempDir(), "ctx");
    mkdirSync(join(ctx, "io.triton.manifest"), { recursive: true });
    cpSync(cache, join(ctx, "io.triton.cache"), { recursive: true });
    writeFileSync(join(ctx, "io.triton.manifest", "manifest.json"), '{"triton":[]}\n');
    writeFileSync(
      join(ctx, "Containerfile"),
      [
        "FROM scratch AS build",
        'COPY "./io.triton.cache/" "./io.triton.cache/"',
        'COPY "./io.triton.manifest/manifest.json" "./io.triton.manifest/manifest.json"',
        "",
        "FROM scratch",
        "LABEL org.opencontainers.image.title=mcv-built",
        "COPY --from=build / /",
        "",
      ].join("\n"),
    );
    const summary = JSON.stringify({ targets: [{ backend: "cuda", arch: "90", warp_size: 32 }] });
    const image = `${reg.host}/mcv/built:v1`;
    build(p, ctx, image, { "cache.triton.image/entry-count": "14", "cache.triton.image/summary": summary });
    podman(p, "push", "--tls-verify=false", image);
    const dest = join(tempDir(), "cache");
    const r = await pull(image, dest, { PATH: fakeGpuPath("9.0") });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.json?.check.ok, true);
    assert.equal(r.json?.imports[0]?.kernels.added.length, 14);
    assert.equal(kernelDirs(dest).length, kernelDirs(cache).length);
  });

  it("refuses an image without cache labels, and reads a two-layer build (one COPY per layer)", async () => {
    const p = podmanEnv();
    const ctx = join(tempDir(), "ctx");
    mkdirSync(ctx);
    writeFileSync(join(ctx, "hello.txt"), "hi\n");
    writeFileSync(join(ctx, "Containerfile"), "FROM scratch\nCOPY hello.txt /hello.txt\n");
    const plain = `${reg.host}/plain/image:v1`;
    podman(p, "build", "-f", join(ctx, "Containerfile"), "-t", plain, ctx);
    podman(p, "push", "--tls-verify=false", plain);
    const r = await pull(plain, join(tempDir(), "cache"), { PATH: noGpuPath });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /not a kernel-cache image/);

    mkdirSync(join(ctx, "io.triton.manifest"));
    cpSync(cache, join(ctx, "io.triton.cache"), { recursive: true });
    writeFileSync(join(ctx, "io.triton.manifest", "manifest.json"), '{"triton":[]}\n');
    writeFileSync(
      join(ctx, "Containerfile"),
      "FROM scratch\nCOPY io.triton.cache/ /io.triton.cache/\nCOPY io.triton.manifest/manifest.json /io.triton.manifest/manifest.json\n",
    );
    const two = `${reg.host}/mcv/two-layers:v1`;
    build(p, ctx, two, { "cache.triton.image/entry-count": "14" });
    podman(p, "push", "--tls-verify=false", two);
    const dest = join(tempDir(), "cache");
    const ok = await pull(two, dest, { PATH: noGpuPath });
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(ok.json?.imports.length, 1);
    assert.equal(kernelDirs(dest).length, kernelDirs(cache).length);
  });
});

describe("a vLLM cache round trip", { skip }, () => {
  it("pushes io.vllm.cache/ with cache.vllm.image labels and pulls it back into a vLLM cache root", async () => {
    const dir = tempDir();
    const vdb = dbIn(dir);
    const vllm = extractFixture("vllm-cache", dir);
    assert.equal(mcm(["index", "--cache-dir", vllm], { db: vdb }).code, 0);
    const p = mcm(["push", `${reg.host}/pull/vllm:v1`, "--cache-dir", vllm, "--insecure", "--json"], { db: vdb });
    assert.equal(p.code, 0, p.stderr);
    const pushed = JSON.parse(p.stdout) as { kind: string; kernels: number; labels: Record<string, string> };
    assert.equal(pushed.kind, "vllm");
    assert.equal(pushed.labels["cache.vllm.image/format"], "triton");
    const dest = join(tempDir(), "vllm");
    const r = await pull(`${reg.host}/pull/vllm:v1`, dest, { PATH: fakeGpuPath("9.0") });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.json?.kind, "vllm");
    assert.equal(r.json?.indexed?.kernels, pushed.kernels);
    assert.deepEqual(readdirSafe(join(dest, "torch_compile_cache")), readdirSafe(join(vllm, "torch_compile_cache")));
  });
});

describe("vLLM's current formats round trip (binary artifacts, AOT models)", { skip }, () => {
  it("binary: MCV labels and manifest, identical artifacts once in the layer, pulled back byte for byte", async () => {
    const dir = tempDir();
    const vdb = dbIn(tempDir());
    const vllm = extractFixture("llama-binary-cache", dir);
    const layout = join(tempDir(), "oci");
    const ref = `${reg.host}/pull/llama:v1`;
    const p = mcm(["push", ref, "--cache-dir", vllm, "--insecure", "--json"], { db: vdb });
    assert.equal(p.code, 0, p.stderr);
    const pushed = JSON.parse(p.stdout) as { kind: string; kernels: number; labels: Record<string, string> };
    assert.equal(pushed.kind, "vllm");
    assert.equal(pushed.kernels, 16);
    assert.deepEqual(pushed.labels, {
      "cache.vllm.image/entry-count": "1",
      "cache.vllm.image/cache-size-bytes": String(
        Object.keys(fileDigests(vllm).files).reduce((n, f) => n + statSync(join(vllm, f)).size, 0),
      ),
      "cache.vllm.image/summary": JSON.stringify({ targets: [{ backend: "cuda", arch: "75", warp_size: 32 }] }),
      "cache.vllm.image/format": "binary",
      "io.kserve.km/framework": "vllm",
      "io.kserve.km/cache-type": "torch-compile",
      "io.kserve.km/cache-hash": "edf531ca35",
      "io.kserve.km/cache-mount-subpath": "torch_compile_cache",
      "io.kserve.km/cache-root-env": "VLLM_CACHE_ROOT=/home/kserve/.cache/vllm",
    });
    // the same image as an OCI layout: the layer holds each distinct file once
    const l = mcm(["push", ref, "--cache-dir", vllm, "--oci-layout", layout, "--json"], { db: vdb });
    assert.equal(l.code, 0, l.stderr);
    const layer = (JSON.parse(l.stdout) as { layer: { digest: string } }).layer.digest.slice("sha256:".length);
    const listing = execFileSync("tar", ["tvzf", join(layout, "blobs/sha256", layer)], { encoding: "utf8" });
    assert.equal(listing.split("\n").filter((x) => / link to /.test(x)).length, 13);
    assert.equal((JSON.parse(l.stdout) as { layer: { hardLinks: number } }).layer.hardLinks, 13);
    // --no-links: full copies, for extractors that skip hard links (MCV's own, as GKM runs it)
    const copies = join(tempDir(), "oci-copies");
    const c = mcm(["push", ref, "--cache-dir", vllm, "--oci-layout", copies, "--no-links", "--json"], { db: vdb });
    assert.equal(c.code, 0, c.stderr);
    const plain = (JSON.parse(c.stdout) as { layer: { digest: string } }).layer.digest.slice("sha256:".length);
    const plainList = execFileSync("tar", ["tvzf", join(copies, "blobs/sha256", plain)], { encoding: "utf8" });
    assert.equal(plainList.split("\n").filter((x) => / link to /.test(x)).length, 0);
    const manifest = JSON.parse(
      execFileSync("tar", ["xzOf", join(layout, "blobs/sha256", layer), "io.vllm.manifest/manifest.json"], {
        encoding: "utf8",
      }),
    ) as { vllm: { vllmHash: string; cacheFormat: string; binary: Record<string, unknown>[] }[] };
    assert.equal(manifest.vllm.length, 1);
    assert.deepEqual(
      { ...manifest.vllm[0], binary: undefined },
      { vllmHash: "edf531ca35", cacheFormat: "binary", binary: undefined },
    );
    const b = manifest.vllm[0]?.binary[0] as Record<string, unknown>;
    assert.deepEqual(
      [b.rank, b.prefix, b.artifact_count, b.cache_save_format, b.target_device, b.config_hash],
      ["rank_0_0", "backbone", 17, "binary", "cuda", "2a3882727d"],
    );

    const dest = join(tempDir(), "vllm");
    const r = await pull(ref, dest, { PATH: fakeGpuPath("7.5") });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.json?.check.ok, true, "checked against the embedded targets: sm_75");
    assert.equal(r.json?.indexed?.kernels, 16);
    assert.deepEqual(
      withoutVllmIndex(fileDigests(dest).files),
      withoutVllmIndex(fileDigests(vllm).files),
      "byte-identical round trip",
    );
    assert.equal((r.json as unknown as { vllmIndexFilesRewritten: number }).vllmIndexFilesRewritten, 1);
    const wrongGpu = await pull(ref, join(tempDir(), "other"), { PATH: fakeGpuPath("9.0") });
    assert.equal(wrongGpu.code, 2, "a T4 cache refused on an sm_90 machine");
  });

  it("an AOT model image built by podman in MCV's layout (cacheFormat aot_compile) is pulled and indexed", async () => {
    const pm = podmanEnv();
    const ctx = join(tempDir(), "ctx");
    mkdirSync(join(ctx, "io.vllm.manifest"), { recursive: true });
    cpSync(extractFixture("vllm-aot"), join(ctx, "io.vllm.cache"), { recursive: true });
    writeFileSync(
      join(ctx, "io.vllm.manifest", "manifest.json"),
      `${JSON.stringify({ vllm: [{ vllmHash: "7ef8431da6", cacheFormat: "aot_compile", aot_compile: [{ hash: "7ef8431da6", rank: "rank_0_0", model_file: "model", file_size: 285332 }] }] })}\n`,
    );
    writeFileSync(
      join(ctx, "Containerfile"),
      'FROM scratch\nCOPY "./io.vllm.cache/" "./io.vllm.cache/"\nCOPY "./io.vllm.manifest/manifest.json" "./io.vllm.manifest/manifest.json"\n',
    );
    const image = `${reg.host}/mcv/vllm-aot:v1`;
    const summary = JSON.stringify({ targets: [{ backend: "cuda", arch: "sm_90", warp_size: 32 }] });
    build(pm, ctx, image, {
      "cache.vllm.image/entry-count": "1",
      "cache.vllm.image/summary": summary,
      "cache.vllm.image/format": "aot_compile",
    });
    podman(pm, "push", "--tls-verify=false", image);
    const dest = join(tempDir(), "vllm");
    const r = await pull(image, dest, { PATH: fakeGpuPath("9.0") });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.json?.check.ok, true);
    assert.equal(r.json?.indexed?.kernels, 3);
    assert.deepEqual(fileDigests(dest).files, fileDigests(join(ctx, "io.vllm.cache")).files);
  });
});
