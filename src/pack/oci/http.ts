// One HTTP request over node:http(s). Not the global fetch: Node 20's fetch takes
// no CA without the undici package, and node:https does (per request, `ca`), with
// streamed bodies both ways and no dependency.
import { readdirSync, readFileSync } from "node:fs";
import http, { type IncomingHttpHeaders, type IncomingMessage } from "node:http";
import https from "node:https";
import type { Readable } from "node:stream";
import { rootCertificates } from "node:tls";

export interface HttpResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: IncomingMessage;
}

export interface RequestOptions {
  method: string;
  headers?: Record<string, string>;
  /** a Buffer, or a function that opens the stream (called once per attempt) */
  body?: Buffer | (() => Readable);
  /** trusted CAs for https; undefined = Node's roots */
  ca?: (string | Buffer)[];
  /** idle socket timeout */
  timeoutMs?: number;
}

const agents = { http: new http.Agent({ keepAlive: true }), https: new https.Agent({ keepAlive: true }) };

export function request(url: URL, o: RequestOptions): Promise<HttpResponse> {
  return new Promise((resolve, reject) => {
    const secure = url.protocol === "https:";
    const req = (secure ? https : http).request(url, {
      method: o.method,
      headers: { "User-Agent": "mcm", ...o.headers },
      agent: secure ? agents.https : agents.http,
      ...(secure && o.ca ? { ca: o.ca } : {}),
    });
    req.setTimeout(o.timeoutMs ?? 60_000, () => req.destroy(new Error(`no answer from ${url.host} within a minute`)));
    req.on("error", reject);
    req.on("response", (res) => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: res }));
    if (o.body === undefined) req.end();
    else if (Buffer.isBuffer(o.body)) req.end(o.body);
    else {
      const src = o.body();
      src.on("error", (e) => req.destroy(e));
      src.pipe(req);
    }
  });
}

export async function readBody(res: HttpResponse, limit = 32 * 1024 * 1024): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of res.body as AsyncIterable<Buffer>) {
    n += c.length;
    if (n > limit) {
      res.body.destroy();
      throw new Error(`answer larger than ${limit} bytes`);
    }
    chunks.push(c);
  }
  return Buffer.concat(chunks);
}

/** Reads and drops a body so the connection can be reused. */
export async function drain(res: HttpResponse): Promise<void> {
  res.body.resume();
  await new Promise<void>((r) => {
    res.body.on("end", r);
    res.body.on("close", r);
    res.body.on("error", () => r());
  });
}

const SYSTEM_BUNDLES = ["/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt", "/etc/ssl/cert.pem"];

function readIf(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
}

/**
 * CAs for a registry host: Node's roots, the system bundle, the per-host folders
 * docker and podman read (`/etc/docker/certs.d/<host>/`, `/etc/containers/certs.d/<host>/`)
 * and `--ca-cert`. Undefined when there is nothing beyond Node's defaults.
 */
export function trustedCas(
  host: string,
  caCert: string | undefined,
  certsDirs: string[],
): (string | Buffer)[] | undefined {
  const extra: string[] = [];
  const system = SYSTEM_BUNDLES.map(readIf).find((t) => t !== undefined);
  if (system) extra.push(system);
  for (const base of certsDirs) {
    const dir = `${base}/${host}`;
    let names: string[] = [];
    try {
      names = readdirSync(dir);
    } catch {}
    for (const n of names.filter((n) => n.endsWith(".crt")).sort()) {
      const t = readIf(`${dir}/${n}`);
      if (t) extra.push(t);
    }
  }
  if (caCert !== undefined) extra.push(readFileSync(caCert, "utf8"));
  return extra.length ? [...rootCertificates, ...extra] : undefined;
}
