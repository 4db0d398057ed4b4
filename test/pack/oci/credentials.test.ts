import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { findCredentials, parseCreds } from "../../../src/pack/oci/credentials.js";
import { cleanupTemp, tempDir } from "../../helpers/fixtures.js";

after(cleanupTemp);

const b64 = (s: string) => Buffer.from(s).toString("base64");

function home(files: Record<string, unknown>): NodeJS.ProcessEnv {
  const h = tempDir();
  for (const [rel, doc] of Object.entries(files)) {
    mkdirSync(join(h, rel, ".."), { recursive: true });
    writeFileSync(join(h, rel), JSON.stringify(doc));
  }
  return { HOME: h };
}

describe("credentials", () => {
  it("reads docker's config.json auths (base64 user:pass, https:// keys)", () => {
    const env = home({ ".docker/config.json": { auths: { "https://quay.io": { auth: b64("alice:pa:ss") } } } });
    const { found } = findCredentials("quay.io", "org/x", env);
    assert.equal(found?.username, "alice");
    assert.equal(found?.password, "pa:ss");
  });

  it("finds Docker Hub's legacy key https://index.docker.io/v1/", () => {
    const env = home({ ".docker/config.json": { auths: { "https://index.docker.io/v1/": { auth: b64("bob:pw") } } } });
    assert.equal(findCredentials("docker.io", "library/x", env).found?.username, "bob");
  });

  it("REGISTRY_AUTH_FILE comes before docker's file, and the most specific key wins", () => {
    const env = home({
      ".docker/config.json": { auths: { "r.example:5000": { auth: b64("docker:1") } } },
      "auth.json": {
        auths: { "r.example:5000": { auth: b64("podman:2") }, "r.example:5000/team/x": { auth: b64("team:3") } },
      },
    });
    env.REGISTRY_AUTH_FILE = join(env.HOME as string, "auth.json");
    assert.equal(findCredentials("r.example:5000", "team/x", env).found?.username, "team");
    assert.equal(findCredentials("r.example:5000", "other/y", env).found?.username, "podman");
    delete env.REGISTRY_AUTH_FILE;
    assert.equal(findCredentials("r.example:5000", "other/y", env).found?.username, "docker");
  });

  it("reads $XDG_RUNTIME_DIR/containers/auth.json (where podman login writes)", () => {
    const env = home({ "run/containers/auth.json": { auths: { "r.example": { auth: b64("pl:x") } } } });
    env.XDG_RUNTIME_DIR = join(env.HOME as string, "run");
    assert.equal(findCredentials("r.example", "a", env).found?.username, "pl");
  });

  it("names the file that points at a credential helper mcm does not run", () => {
    const env = home({ ".docker/config.json": { auths: {}, credHelpers: { "gcr.io": "gcloud" } } });
    const r = findCredentials("gcr.io", "p/x", env);
    assert.equal(r.found, undefined);
    assert.match(r.helperFile ?? "", /config\.json$/);
    assert.equal(findCredentials("quay.io", "p/x", env).helperFile, undefined);
  });

  it("--creds splits at the first colon", () => {
    assert.deepEqual(parseCreds("u:p:q"), { username: "u", password: "p:q", source: "--creds" });
    assert.throws(() => parseCreds("nopass"), /USER:PASS/);
  });
});
