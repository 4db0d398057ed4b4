// One HTTP request over node:http(s). Not the global fetch: Node 20's fetch takes
// no CA without the undici package, and node:https does (per request, `ca`), with
// streamed bodies both ways and no dependency.
import { readdirSync, readFileSync } from "node:fs";
import http, { type IncomingHttpHeaders, type IncomingMessage } from "node:http";
import https from "node:https";
import type { Readable } from "node:stream";
import { rootCertificates } from "node:tls";
import { McmError } from "../../core/errors.js";

// Caps on what a registry (or anyone on the path) controls. SECURITY.md lists them.
/** Manifests, configs, token and error answers: JSON documents, never this large. */
export const MAX_JSON_BYTES = 4 * 1024 * 1024;
/** No byte either way for this long: the request fails. */
export const IDLE_TIMEOUT_MS = 60_000;
/** Each request, body included, must finish within this (env MCM_HTTP_DEADLINE_S)... */
export const DEFAULT_DEADLINE_S = 300;
/** ...plus one second per MiB it sends or expects: a drip cannot keep a big download alive past a slow link's pace. */
export const MIN_RATE_BYTES_PER_S = 1024 * 1024;

/** The overall deadline of a request that moves `bytes`. */
export function deadlineMs(bytes: number, env: NodeJS.ProcessEnv = process.env): number {
  const s = Number(env.MCM_HTTP_DEADLINE_S);
  return Math.ceil(((s > 0 ? s : DEFAULT_DEADLINE_S) + bytes / MIN_RATE_BYTES_PER_S) * 1000);
}

/** Past the overall deadline: not worth a retry (a drip would drip again). */
export class DeadlineError extends McmError {}

export interface HttpResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: IncomingMessage;
  url: URL;
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
  /** bytes the answer should carry (a blob's descriptor size): widens the deadline */
  expectBytes?: number;
  /** for errors: "the download of sha256:..." (default: METHOD path) */
  what?: string;
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
    const what = o.what ?? `${o.method} ${url.pathname}`;
    let res: IncomingMessage | undefined;
    const fail = (e: Error) => {
      res?.destroy(e); // an error in the body stream, for whoever reads it
      req.destroy(e);
    };
    const idleMs = o.timeoutMs ?? IDLE_TIMEOUT_MS;
    req.setTimeout(idleMs, () =>
      fail(Object.assign(new Error(`no byte from ${url.host} for ${idleMs / 1000} s`), { code: "ETIMEDOUT" })),
    );
    const sent = Buffer.isBuffer(o.body) ? o.body.length : Number(o.headers?.["Content-Length"] ?? 0) || 0;
    const limitMs = deadlineMs(sent + (o.expectBytes ?? 0));
    const deadline = setTimeout(
      () => fail(new DeadlineError(`${url.host}: ${what} did not finish within ${Math.round(limitMs / 1000)} s`)),
      limitMs,
    );
    deadline.unref();
    req.on("close", () => {
      if (res === undefined) clearTimeout(deadline);
    });
    req.on("error", reject);
    req.on("response", (r) => {
      res = r;
      r.on("close", () => clearTimeout(deadline));
      resolve({ status: r.statusCode ?? 0, headers: r.headers, body: r, url });
    });
    if (o.body === undefined) req.end();
    else if (Buffer.isBuffer(o.body)) req.end(o.body);
    else {
      const src = o.body();
      src.on("error", (e) => req.destroy(e));
      src.pipe(req);
    }
  });
}

/** The whole body, refused as soon as it passes `limit` bytes. */
export async function readBody(res: HttpResponse, limit = MAX_JSON_BYTES): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of res.body as AsyncIterable<Buffer>) {
    n += c.length;
    if (n > limit) {
      res.body.destroy();
      throw new McmError(`${res.url.host}: the answer to ${res.url.pathname} is larger than ${limit} bytes`);
    }
    chunks.push(c);
  }
  return Buffer.concat(chunks);
}

/** Reads and drops a body so the connection can be reused; past MAX_JSON_BYTES, drops the connection. */
export async function drain(res: HttpResponse): Promise<void> {
  let n = 0;
  res.body.on("data", (c: Buffer) => {
    n += c.length;
    if (n > MAX_JSON_BYTES) res.body.destroy();
  });
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
