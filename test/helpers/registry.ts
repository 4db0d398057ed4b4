// A real OCI registry for tests: Debian's docker-registry (the CNCF distribution
// registry) on 127.0.0.1, a free port, a temporary storage folder and a config
// of our own. Variants: plain http, htpasswd (bcrypt) Basic auth, TLS with a
// self-signed certificate, and Bearer tokens from a small token server in this
// process that signs JWTs the registry trusts (auth: token: rootcertbundle).
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { createSign, randomUUID, X509Certificate } from "node:crypto";
import { closeSync, openSync, readFileSync, writeFileSync } from "node:fs";
import http from "node:http";
import https from "node:https";
import { createServer } from "node:net";
import { join } from "node:path";
import { tempDir } from "./fixtures.js";

export type RegistryAuth = "none" | "basic" | "token";

export interface RegistryOptions {
  auth?: RegistryAuth;
  tls?: boolean;
}

export interface TestRegistry {
  /** host:port */
  host: string;
  port: number;
  dir: string;
  /** the storage root (docker/registry/v2/...) */
  storage: string;
  /** CA file for TLS variants */
  caCert: string | undefined;
  user: string;
  password: string;
  /** token server requests seen (token variant) */
  tokenRequests: { scope: string[]; user: string | undefined }[];
  stop(): Promise<void>;
}

const USER = "mcm";
const PASSWORD = "s3cret-pass";

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** A self-signed certificate for 127.0.0.1 and localhost. */
function selfSignedCert(dir: string, name = "registry"): { cert: string; key: string } {
  const cert = join(dir, `${name}.crt`);
  const key = join(dir, `${name}.key`);
  execFileSync(
    "openssl",
    [
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-days",
      "2",
      "-subj",
      "/CN=127.0.0.1",
      "-addext",
      "subjectAltName=IP:127.0.0.1,DNS:localhost",
      "-keyout",
      key,
      "-out",
      cert,
    ],
    { stdio: "ignore" },
  );
  return { cert, key };
}

function b64url(b: Buffer | string): string {
  return Buffer.from(b).toString("base64url");
}

interface TokenServer {
  realm: string;
  stop(): Promise<void>;
  requests: { scope: string[]; user: string | undefined }[];
}

/** Issues RS256 JWTs (x5c = our self-signed cert) for Basic USER:PASSWORD; anything else gets 401. */
async function startTokenServer(dir: string, service: string, issuer: string): Promise<TokenServer & { cert: string }> {
  const { cert, key } = selfSignedCert(dir, "token");
  const der = new X509Certificate(readFileSync(cert)).raw;
  const pem = readFileSync(key, "utf8");
  const requests: TokenServer["requests"] = [];
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://x");
    const scope = url.searchParams.getAll("scope");
    const basic = /^Basic (.+)$/.exec(req.headers.authorization ?? "");
    const [user, pass] = basic
      ? Buffer.from(basic[1] as string, "base64")
          .toString()
          .split(":")
      : [];
    requests.push({ scope, user });
    if (user !== USER || pass !== PASSWORD) {
      res.writeHead(401, { "Content-Type": "application/json" });
      res.end('{"details":"wrong credentials"}');
      return;
    }
    const now = Math.floor(Date.now() / 1000);
    const access = scope.map((s) => {
      const [type, name, actions] = s.split(":");
      return { type, name, actions: (actions ?? "").split(",") };
    });
    const header = { typ: "JWT", alg: "RS256", x5c: [der.toString("base64")] };
    const claims = {
      iss: issuer,
      sub: user,
      aud: service,
      exp: now + 300,
      nbf: now - 10,
      iat: now,
      jti: randomUUID(),
      access,
    };
    const signing = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
    const sig = createSign("RSA-SHA256").update(signing).sign(pem);
    res.writeHead(200, { "Content-Type": "application/json" });
    res.end(JSON.stringify({ token: `${signing}.${b64url(sig)}`, expires_in: 300 }));
  });
  const port = await freePort();
  await new Promise<void>((r) => server.listen(port, "127.0.0.1", r));
  return {
    realm: `http://127.0.0.1:${port}/token`,
    cert,
    requests,
    stop: () =>
      new Promise((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** Waits until the registry answers; throws with its own output (or why it could not run) when it does not. */
async function waitUp(url: string, ca: string | undefined, child: ChildProcess, log: string): Promise<void> {
  const deadline = Date.now() + 15_000;
  const trusted = ca ? readFileSync(ca) : undefined;
  let spawnError: Error | undefined;
  child.once("error", (e) => {
    spawnError = e;
  });
  const output = () => readFileSync(log, "utf8").trim() || "(no output)";
  while (Date.now() < deadline) {
    if (spawnError) throw new Error(`docker-registry could not start: ${spawnError.message}`);
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`docker-registry exited (${child.exitCode ?? child.signalCode}): ${output()}`);
    }
    const ok = await new Promise<boolean>((resolve) => {
      const mod = url.startsWith("https") ? https : http;
      const req = mod.get(url, { ca: trusted, timeout: 2000 }, (res) => {
        res.resume();
        resolve(true);
      });
      req.on("timeout", () => req.destroy());
      req.on("error", () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`docker-registry did not answer within 15 s: ${output()}`);
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const gone = new Promise((r) => child.once("exit", r));
  child.kill("SIGTERM");
  const killer = setTimeout(() => child.kill("SIGKILL"), 5000);
  await gone;
  clearTimeout(killer);
}

export async function startRegistry(o: RegistryOptions = {}): Promise<TestRegistry> {
  const dir = tempDir("mcm-registry-");
  const storage = join(dir, "storage");
  const port = await freePort();
  const lines = [
    "version: 0.1",
    "log:",
    "  level: warn",
    "  accesslog:",
    "    disabled: true",
    "storage:",
    "  filesystem:",
    `    rootdirectory: ${storage}`,
    "  delete:",
    "    enabled: true",
    "http:",
    `  addr: 127.0.0.1:${port}`,
    "  secret: mcm-test-secret",
  ];
  let caCert: string | undefined;
  if (o.tls) {
    const { cert, key } = selfSignedCert(dir);
    caCert = cert;
    lines.push("  tls:", `    certificate: ${cert}`, `    key: ${key}`);
  }
  let token: (TokenServer & { cert: string }) | undefined;
  if (o.auth === "basic") {
    const htpasswd = join(dir, "htpasswd");
    writeFileSync(htpasswd, execFileSync("htpasswd", ["-Bbn", USER, PASSWORD]));
    lines.push("auth:", "  htpasswd:", "    realm: mcm-test", `    path: ${htpasswd}`);
  } else if (o.auth === "token") {
    token = await startTokenServer(dir, "mcm-test-registry", "mcm-test-issuer");
    lines.push(
      "auth:",
      "  token:",
      `    realm: ${token.realm}`,
      "    service: mcm-test-registry",
      "    issuer: mcm-test-issuer",
      `    rootcertbundle: ${token.cert}`,
    );
  }
  const config = join(dir, "config.yml");
  writeFileSync(config, `${lines.join("\n")}\n`);
  const log = join(dir, "registry.log");
  const fd = openSync(log, "a");
  // --pdeathsig: the registry ends with this test process, however that ends (a timeout kills it)
  const child = spawn("setpriv", ["--pdeathsig", "SIGTERM", "--", "docker-registry", "serve", config], {
    stdio: ["ignore", fd, fd],
  });
  closeSync(fd); // the child has its own copy
  try {
    await waitUp(`${o.tls ? "https" : "http"}://127.0.0.1:${port}/v2/`, caCert, child, log);
  } catch (e) {
    // nothing outlives a registry that failed to start: neither it nor its token server
    await stopChild(child);
    await token?.stop();
    throw e;
  }
  return {
    host: `127.0.0.1:${port}`,
    port,
    dir,
    storage,
    caCert,
    user: USER,
    password: PASSWORD,
    tokenRequests: token?.requests ?? [],
    async stop() {
      await token?.stop();
      await stopChild(child);
    },
  };
}

export interface CuttingProxy {
  host: string;
  /** "METHOD path" of every request seen */
  requests: string[];
  cuts: number;
  stop(): Promise<void>;
}

/**
 * An HTTP proxy in front of a registry that drops the connection of the first
 * `times` requests `match` picks, after forwarding `afterBytes` of their body:
 * a network that fails in the middle of an upload.
 */
export async function startCuttingProxy(
  target: string,
  match: (method: string, path: string) => boolean,
  afterBytes: number,
  times = 1,
): Promise<CuttingProxy> {
  const requests: string[] = [];
  const state = { cuts: 0 };
  const server = http.createServer((req, res) => {
    const path = req.url ?? "/";
    requests.push(`${req.method} ${path.split("?")[0]}`);
    const upstream = http.request(`http://${target}${path}`, { method: req.method, headers: req.headers }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    upstream.on("error", () => res.destroy());
    if (state.cuts < times && match(req.method ?? "", path)) {
      state.cuts++;
      let seen = 0;
      req.on("data", (c: Buffer) => {
        const room = afterBytes - seen;
        seen += c.length;
        if (room > 0) upstream.write(c.subarray(0, room));
        if (seen >= afterBytes) {
          upstream.destroy();
          req.socket.destroy();
        }
      });
      return;
    }
    req.pipe(upstream);
  });
  const port = await freePort();
  await new Promise<void>((r) => server.listen(port, "127.0.0.1", r));
  return {
    host: `127.0.0.1:${port}`,
    requests,
    get cuts() {
      return state.cuts;
    },
    stop: () =>
      new Promise((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
