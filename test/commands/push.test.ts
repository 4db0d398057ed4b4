// mcm push against a real registry (docker-registry on 127.0.0.1): plain http,
// htpasswd Basic auth, TLS with a self-signed certificate, Bearer tokens, and a
// connection dropped in the middle of an upload. skopeo reads what mcm pushed.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { copyFileSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { dbIn, mcm, mcmAsync } from "../helpers/cli.js";
import { cleanupTemp, extractFixture, tempDir } from "../helpers/fixtures.js";
import { startCuttingProxy, startRegistry, type TestRegistry } from "../helpers/registry.js";
import { missing, TOOLS } from "../helpers/tools.js";

const skip = missing(TOOLS.registry, TOOLS.skopeo, TOOLS.htpasswd, TOOLS.openssl);

interface PushJson {
  target: string;
  digest: string;
  kind: string;
  kernels: number;
  cacheBytes: number;
  layer: { digest: string; size: number };
  labels: Record<string, string>;
  blobs: { sent: number; alreadyPresent: number };
}

let db: string;
let cache: string;
const registries: TestRegistry[] = [];

before(() => {
  const dir = tempDir();
  db = dbIn(dir);
  cache = extractFixture("triton-cache", dir);
  assert.equal(mcm(["index", "--cache-dir", cache], { db }).code, 0);
});

after(async () => {
  for (const r of registries) await r.stop();
  cleanupTemp();
});

async function registry(o: Parameters<typeof startRegistry>[0] = {}): Promise<TestRegistry> {
  const r = await startRegistry(o);
  registries.push(r);
  return r;
}

async function push(ref: string, ...args: string[]): Promise<{ code: number; json: PushJson; stderr: string }> {
  const r = await mcmAsync(["push", ref, "--cache-dir", cache, "--json", ...args], { db });
  return { code: r.code, json: r.code === 0 ? (JSON.parse(r.stdout) as PushJson) : ({} as PushJson), stderr: r.stderr };
}

function skopeoInspect(ref: string, ...args: string[]): { Digest: string; Labels: Record<string, string> } {
  return JSON.parse(execFileSync("skopeo", ["inspect", ...args, `docker://${ref}`], { encoding: "utf8" }));
}

describe("push to a plain-http registry", { skip }, () => {
  let reg: TestRegistry;
  before(async () => {
    reg = await registry();
  });

  it("pushes the cache as one MCV image; skopeo shows its labels; the same cache gives the same digest and sends no blob again", async () => {
    const first = await push(`${reg.host}/caches/triton:v1`, "--insecure");
    assert.equal(first.code, 0, first.stderr);
    assert.equal(first.json.kind, "triton");
    assert.equal(first.json.kernels, 14);
    assert.deepEqual(first.json.blobs, { sent: 2, alreadyPresent: 0 });
    const seen = skopeoInspect(`${reg.host}/caches/triton:v1`, "--tls-verify=false");
    assert.equal(seen.Digest, first.json.digest);
    assert.equal(seen.Labels["cache.triton.image/entry-count"], "14");
    assert.equal(seen.Labels["cache.triton.image/cache-size-bytes"], String(first.json.cacheBytes));
    assert.deepEqual(JSON.parse(seen.Labels["cache.triton.image/summary"] as string), {
      targets: [{ backend: "cuda", arch: "90", warp_size: 32 }],
    });

    const again = await push(`${reg.host}/caches/triton:v2`, "--insecure");
    assert.equal(again.json.digest, first.json.digest);
    assert.deepEqual(again.json.blobs, { sent: 0, alreadyPresent: 2 });
  });

  it("prints REGISTRY/REPO@DIGEST on stdout, ready for cosign sign", () => {
    const r = mcm(["push", `${reg.host}/caches/triton:v3`, "--cache-dir", cache, "--insecure"], { db });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^${reg.host}/caches/triton@sha256:[0-9a-f]{64}\\n$`));
    assert.match(r.stderr, /14 kernels/);
  });

  it("--oci-layout writes the same image, digest for digest", async () => {
    const dir = join(tempDir(), "layout");
    const viaLayout = mcm(["push", "cache:v1", "--cache-dir", cache, "--oci-layout", dir, "--json"], { db });
    assert.equal(viaLayout.code, 0, viaLayout.stderr);
    const pushed = await push(`${reg.host}/caches/triton:v1`, "--insecure");
    assert.equal((JSON.parse(viaLayout.stdout) as PushJson).digest, pushed.json.digest);
    const index = JSON.parse(readFileSync(join(dir, "index.json"), "utf8"));
    assert.equal(index.manifests[0].digest, pushed.json.digest);
    const raw = JSON.parse(execFileSync("skopeo", ["inspect", `oci:${dir}:v1`], { encoding: "utf8" }));
    assert.equal(raw.Labels["cache.triton.image/entry-count"], "14");
  });

  it("filters choose the kernels: a smaller image with its own digest", async () => {
    const r = await push(`${reg.host}/caches/triton:add`, "--insecure", "--name", "add_kernel");
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.json.kernels, 6);
    assert.equal(r.json.labels["cache.triton.image/entry-count"], "6");
  });

  it("without --insecure, a plain-http registry gets one clear error line, exit 2", async () => {
    const r = await push(`${reg.host}/caches/triton:v1`);
    assert.equal(r.code, 2);
    assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
    assert.match(r.stderr, /does not speak TLS.*--insecure/);
  });

  it("nothing matched: exit 1, nothing pushed", async () => {
    const r = await push(`${reg.host}/caches/none:v1`, "--insecure", "--name", "no_such_kernel");
    assert.equal(r.code, 1);
    assert.match(r.stderr, /no kernels match: nothing to push/);
    // the registry knows no such repository: no tag, and no blob (a blob alone puts a repository in the catalog)
    const tags = await fetch(`http://${reg.host}/v2/caches/none/tags/list`);
    assert.equal(tags.status, 404);
    assert.equal(((await tags.json()) as { errors: { code: string }[] }).errors[0]?.code, "NAME_UNKNOWN");
    const catalog = (await (await fetch(`http://${reg.host}/v2/_catalog`)).json()) as { repositories: string[] };
    assert.ok(!catalog.repositories.includes("caches/none"), catalog.repositories.join(", "));
  });
});

describe("push with htpasswd Basic auth", { skip }, () => {
  let reg: TestRegistry;
  before(async () => {
    reg = await registry({ auth: "basic" });
  });

  it("takes --creds", async () => {
    const r = await push(`${reg.host}/b/triton:v1`, "--insecure", "--creds", `${reg.user}:${reg.password}`);
    assert.equal(r.code, 0, r.stderr);
    const seen = skopeoInspect(
      `${reg.host}/b/triton:v1`,
      "--tls-verify=false",
      "--creds",
      `${reg.user}:${reg.password}`,
    );
    assert.equal(seen.Digest, r.json.digest);
  });

  it("takes the containers auth.json at REGISTRY_AUTH_FILE", async () => {
    const auth = join(tempDir(), "auth.json");
    const token = Buffer.from(`${reg.user}:${reg.password}`).toString("base64");
    writeFileSync(auth, JSON.stringify({ auths: { [reg.host]: { auth: token } } }));
    const r = await mcmAsync(["push", `${reg.host}/b/triton:v2`, "--cache-dir", cache, "--insecure"], {
      db,
      env: { REGISTRY_AUTH_FILE: auth },
    });
    assert.equal(r.code, 0, r.stderr);
  });

  it("wrong credentials: one clear error line naming the user, exit 2", async () => {
    const r = await push(`${reg.host}/b/triton:v1`, "--insecure", "--creds", `${reg.user}:wrong`);
    assert.equal(r.code, 2);
    assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
    assert.match(r.stderr, /refused the credentials of 'mcm' from --creds/);
  });

  it("no credentials: says how to give them, exit 2", async () => {
    const r = await mcmAsync(["push", `${reg.host}/b/triton:v1`, "--cache-dir", cache, "--insecure"], {
      db,
      env: { HOME: tempDir(), XDG_RUNTIME_DIR: "", REGISTRY_AUTH_FILE: "", DOCKER_CONFIG: "" },
    });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /needs credentials.*--creds/);
  });
});

describe("push over TLS with a self-signed certificate", { skip }, () => {
  let reg: TestRegistry;
  before(async () => {
    reg = await registry({ tls: true });
  });

  it("trusts the registry with --ca-cert", async () => {
    const r = await push(`${reg.host}/t/triton:v1`, "--ca-cert", reg.caCert as string);
    assert.equal(r.code, 0, r.stderr);
    // skopeo reads CAs as *.crt in a folder of their own
    const certDir = tempDir();
    copyFileSync(reg.caCert as string, join(certDir, "ca.crt"));
    const seen = skopeoInspect(`${reg.host}/t/triton:v1`, "--cert-dir", certDir);
    assert.equal(seen.Digest, r.json.digest);
  });

  it("refuses an untrusted certificate: one line, exit 2", async () => {
    const r = await push(`${reg.host}/t/triton:v1`);
    assert.equal(r.code, 2);
    assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
    assert.match(r.stderr, /TLS certificate of 127\.0\.0\.1:\d+ is not trusted.*--ca-cert/);
  });
});

describe("push with Bearer tokens (the registry trusts a token server that signs JWTs)", { skip }, () => {
  let reg: TestRegistry;
  before(async () => {
    reg = await registry({ auth: "token" });
  });

  it("gets a push token for the repository with the credentials from docker's config.json", async () => {
    const dockerConfig = tempDir();
    const token = Buffer.from(`${reg.user}:${reg.password}`).toString("base64");
    writeFileSync(
      join(dockerConfig, "config.json"),
      JSON.stringify({ auths: { [`http://${reg.host}`]: { auth: token } } }),
    );
    const r = await mcmAsync(["push", `${reg.host}/tok/triton:v1`, "--cache-dir", cache, "--insecure", "--json"], {
      db,
      env: { DOCKER_CONFIG: dockerConfig, HOME: tempDir(), XDG_RUNTIME_DIR: "", REGISTRY_AUTH_FILE: "" },
    });
    assert.equal(r.code, 0, r.stderr);
    assert.ok(reg.tokenRequests.some((t) => t.user === "mcm" && t.scope.includes("repository:tok/triton:pull,push")));
  });

  it("wrong credentials: the token server's refusal is one line, exit 2", async () => {
    const r = await push(`${reg.host}/tok/triton:v1`, "--insecure", "--creds", "mcm:nope");
    assert.equal(r.code, 2);
    assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
    assert.match(r.stderr, /refused the credentials of 'mcm'/);
  });
});

describe("push through a connection that drops mid-upload", { skip }, () => {
  it("asks the upload session where it stands, starts over if the registry dropped it, and finishes", async () => {
    const reg = await registry();
    // cut the first PATCH (the 289 KiB layer) after 64 KiB reached the registry
    const proxy = await startCuttingProxy(reg.host, (m) => m === "PATCH", 64 * 1024);
    try {
      const r = await push(`${proxy.host}/cut/triton:v1`, "--insecure");
      assert.equal(r.code, 0, r.stderr);
      assert.equal(proxy.cuts, 1);
      assert.ok(proxy.requests.filter((q) => q.startsWith("PATCH")).length >= 3, proxy.requests.join("\n"));
      const seen = skopeoInspect(`${reg.host}/cut/triton:v1`, "--tls-verify=false");
      assert.equal(seen.Digest, r.json.digest);
      // the registry holds the whole layer: a direct push finds every blob already there
      const direct = await push(`${reg.host}/cut/triton:v2`, "--insecure");
      assert.deepEqual(direct.json.blobs, { sent: 0, alreadyPresent: 2 });
    } finally {
      await proxy.stop();
    }
  });

  it("resumes the same upload session at the last chunk the registry kept", async () => {
    const reg = await registry();
    let patches = 0;
    // 64 KiB chunks; the second PATCH is cut before any of its bytes arrive
    const proxy = await startCuttingProxy(reg.host, (m) => m === "PATCH" && ++patches === 2, 0);
    try {
      const r = await mcmAsync(
        ["push", `${proxy.host}/resume/triton:v1`, "--cache-dir", cache, "--insecure", "--json"],
        {
          db,
          env: { MCM_UPLOAD_CHUNK: String(64 * 1024) },
        },
      );
      assert.equal(r.code, 0, r.stderr);
      assert.equal(proxy.cuts, 1);
      const layer = proxy.requests.slice(
        0,
        proxy.requests.findIndex((q) => q.startsWith("PUT")),
      );
      // one session for the whole layer: no second POST, the status GET, then the PATCHes go on
      assert.equal(layer.filter((q) => q.startsWith("POST")).length, 1, layer.join("\n"));
      assert.equal(layer.filter((q) => q.startsWith("GET /v2/resume")).length, 1, layer.join("\n"));
      assert.equal(new Set(layer.filter((q) => q.startsWith("PATCH"))).size, 1);
      const seen = skopeoInspect(`${reg.host}/resume/triton:v1`, "--tls-verify=false");
      assert.equal(seen.Digest, (JSON.parse(r.stdout) as PushJson).digest);
    } finally {
      await proxy.stop();
    }
  });
});
