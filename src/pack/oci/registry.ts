// The OCI distribution API for one repository: authentication (anonymous, Basic,
// Bearer tokens), manifests and blobs. Uploads live in upload.ts.
import { McmError } from "../../core/errors.js";
import { log } from "../../log.js";
import { parseChallenge } from "./challenge.js";
import type { Credentials } from "./credentials.js";
import {
  DeadlineError,
  drain,
  type HttpResponse,
  MAX_JSON_BYTES,
  type RequestOptions,
  readBody,
  request,
} from "./http.js";
import { sha256 } from "./image.js";
import { MANIFEST_ACCEPT } from "./media-types.js";
import { apiHost, type ImageRef } from "./ref.js";

export interface RegistryOptions {
  /** plain http instead of https */
  insecure: boolean;
  ca: (string | Buffer)[] | undefined;
  creds: Credentials | undefined;
  /** a credentials file that names a helper mcm does not run (for the error message) */
  helperFile?: string;
}

export type Access = "pull" | "push";

type AuthState =
  | { kind: "none" }
  | { kind: "basic" }
  | { kind: "bearer"; realm: string; service: string | undefined; tokens: Map<string, string> };

export interface Fetched {
  bytes: Buffer;
  mediaType: string;
  digest: string;
}

function basicAuth({ username, password }: Credentials): string {
  return `Basic ${Buffer.from(`${username}:${password}`).toString("base64")}`;
}

export class Registry {
  readonly host: string;
  readonly base: URL;
  private auth: AuthState | undefined;

  constructor(
    readonly ref: ImageRef,
    private readonly o: RegistryOptions,
  ) {
    this.host = apiHost(ref);
    this.base = new URL(`${o.insecure ? "http" : "https"}://${this.host}/v2/`);
  }

  repoUrl(path: string): URL {
    return new URL(`${this.ref.repository}/${path}`, this.base);
  }

  /** One request with this registry's authentication; retries once after a new challenge. */
  async send(url: URL, opts: RequestOptions, access: Access): Promise<HttpResponse> {
    if (this.auth === undefined) await this.ping();
    for (let attempt = 0; ; attempt++) {
      const headers = { ...opts.headers, ...(await this.authHeader(access)) };
      const res = await this.raw(url, { ...opts, headers });
      if (res.status !== 401 || attempt > 0) {
        if (res.status === 401) throw await this.refused(res);
        return res;
      }
      const ch = parseChallenge(res.headers["www-authenticate"] as string | undefined);
      await drain(res);
      if (ch?.scheme === "bearer" && this.auth?.kind === "bearer") {
        // the registry asked for a wider scope (insufficient_scope): get that token
        if (ch.params.scope) await this.token(ch.params.scope, access);
        else this.auth.tokens.delete(this.scope(access));
        continue;
      }
      if (ch?.scheme === "basic" && this.auth?.kind !== "basic") {
        this.auth = { kind: "basic" };
        continue;
      }
      throw this.authError(undefined);
    }
  }

  /** GET /v2/: learns whether and how the registry wants authentication. */
  private async ping(): Promise<void> {
    const res = await this.raw(this.base, { method: "GET" });
    const ch = parseChallenge(res.headers["www-authenticate"] as string | undefined);
    await drain(res);
    if (res.status === 401 && ch?.scheme === "bearer" && ch.params.realm) {
      this.auth = { kind: "bearer", realm: ch.params.realm, service: ch.params.service, tokens: new Map() };
    } else if (res.status === 401 && ch?.scheme === "basic") {
      this.auth = { kind: "basic" };
    } else if (res.status === 200 || res.status === 404) {
      // 404: not a v2 registry root, or a proxy; try the requests anonymously
      this.auth = { kind: "none" };
    } else if (res.status === 401) {
      throw new McmError(`registry ${this.host} asks for an authentication scheme mcm does not speak: ${ch?.scheme}`);
    } else {
      throw new McmError(`registry ${this.host} answered GET /v2/ with HTTP ${res.status}`);
    }
  }

  private scope(access: Access): string {
    return `repository:${this.ref.repository}:${access === "push" ? "pull,push" : "pull"}`;
  }

  private async authHeader(access: Access): Promise<Record<string, string>> {
    const a = this.auth;
    if (a?.kind === "basic") {
      if (!this.o.creds) throw this.authError(undefined);
      return { Authorization: basicAuth(this.o.creds) };
    }
    if (a?.kind === "bearer") {
      const scope = this.scope(access);
      const t = a.tokens.get(scope) ?? (await this.token(scope, access));
      return { Authorization: `Bearer ${t}` };
    }
    return {};
  }

  /** The Bearer token flow: GET realm?service=&scope=, with Basic credentials when there are any. */
  private async token(scope: string, access: Access): Promise<string> {
    const a = this.auth;
    if (a?.kind !== "bearer") throw new Error("no bearer realm");
    const url = new URL(a.realm);
    if (a.service) url.searchParams.set("service", a.service);
    for (const s of scope.split(" ")) url.searchParams.append("scope", s);
    const headers: Record<string, string> = {};
    if (this.o.creds) headers.Authorization = basicAuth(this.o.creds);
    const res = await this.raw(url, { method: "GET", headers });
    const body = await readBody(res, MAX_JSON_BYTES);
    if (res.status === 401 || res.status === 403) throw this.authError(res.status);
    if (res.status !== 200) throw new McmError(`token server ${url.host} answered HTTP ${res.status}`);
    let token: string | undefined;
    try {
      const j = JSON.parse(body.toString("utf8")) as { token?: string; access_token?: string };
      token = j.token ?? j.access_token;
    } catch {}
    if (!token) throw new McmError(`token server ${url.host} sent no token`);
    a.tokens.set(scope, token);
    // a token for pull,push also serves pulls
    if (access === "push") a.tokens.set(this.scope("pull"), token);
    return token;
  }

  private authError(status: number | undefined): McmError {
    const how = status ? ` (HTTP ${status})` : "";
    if (this.o.creds) {
      return new McmError(
        `registry ${this.host} refused the credentials of '${this.o.creds.username}' from ${this.o.creds.source}${how}`,
      );
    }
    const helper = this.o.helperFile ? `; ${this.o.helperFile} names a credential helper, which mcm does not run` : "";
    return new McmError(
      `registry ${this.host} needs credentials${how}: pass --creds USER:PASS or log in with podman/docker${helper}`,
    );
  }

  private async refused(res: HttpResponse): Promise<McmError> {
    await drain(res);
    return this.authError(401);
  }

  /** A request without authentication; network and TLS failures become one clear line. */
  async raw(url: URL, opts: RequestOptions): Promise<HttpResponse> {
    try {
      return await request(url, { ...opts, ca: this.o.ca });
    } catch (e) {
      if (e instanceof DeadlineError) throw e;
      throw networkError(url, e as NodeJS.ErrnoException);
    }
  }

  async hasBlob(digest: string): Promise<boolean> {
    const res = await this.send(this.repoUrl(`blobs/${digest}`), { method: "HEAD" }, "push");
    await drain(res);
    if (res.status === 200) return true;
    if (res.status === 404) return false;
    throw new McmError(`registry ${this.host}: HEAD blob ${digest} answered HTTP ${res.status}`);
  }

  async putManifest(bytes: Buffer, mediaType: string, reference: string): Promise<string> {
    const res = await this.send(
      this.repoUrl(`manifests/${reference}`),
      { method: "PUT", headers: { "Content-Type": mediaType }, body: bytes },
      "push",
    );
    const body = await readBody(res);
    if (res.status !== 201 && res.status !== 200) throw apiError(this.host, "PUT manifest", res.status, body);
    return sha256(bytes);
  }

  /** GET a manifest or index, at most `limit` bytes; checks its digest against the reference or the registry's header. */
  async getManifest(reference: string, limit = MAX_JSON_BYTES): Promise<Fetched> {
    const res = await this.send(
      this.repoUrl(`manifests/${reference}`),
      { method: "GET", headers: { Accept: MANIFEST_ACCEPT.join(", ") } },
      "pull",
    );
    const bytes = await readBody(res, limit);
    if (res.status === 404) throw new McmError(`${this.host}/${this.ref.repository}:${reference} not found`);
    if (res.status !== 200) throw apiError(this.host, "GET manifest", res.status, bytes);
    const digest = sha256(bytes);
    const claimed = reference.startsWith("sha256:") ? reference : (res.headers["docker-content-digest"] as string);
    if (claimed && claimed !== digest) {
      throw new McmError(
        `manifest ${reference} from ${this.host} does not match its digest: got ${digest}, expected ${claimed}`,
      );
    }
    const mediaType =
      String(res.headers["content-type"] ?? "")
        .split(";")[0]
        ?.trim() ?? "";
    return { bytes, mediaType, digest };
  }

  /** GET a blob of `size` bytes (its descriptor's), following redirects (registries hand blobs to object stores). */
  async openBlob(digest: string, size: number): Promise<HttpResponse> {
    let url = this.repoUrl(`blobs/${digest}`);
    const get: RequestOptions = { method: "GET", expectBytes: size, what: `the download of ${digest}` };
    let res = await this.send(url, get, "pull");
    for (let hops = 0; res.status >= 300 && res.status < 400 && res.headers.location; hops++) {
      if (hops >= 5) throw new McmError(`too many redirects fetching ${digest} from ${this.host}`);
      await drain(res);
      const next = new URL(res.headers.location, url);
      // credentials stay with the registry; an object store gets a signed URL instead
      res = next.host === url.host ? await this.send(next, get, "pull") : await this.raw(next, get);
      url = next;
    }
    if (res.status !== 200) throw apiError(this.host, `GET blob ${digest}`, res.status, await readBody(res));
    return res;
  }

  /** A small blob (a config) in memory; refused past `limit` bytes. */
  async getBlob(digest: string, limit: number): Promise<Buffer> {
    const bytes = await readBody(await this.openBlob(digest, limit), limit);
    const got = sha256(bytes);
    if (got !== digest) throw new McmError(`blob ${digest} from ${this.host} does not match its digest (got ${got})`);
    return bytes;
  }
}

export function apiError(host: string, what: string, status: number, body: Buffer): McmError {
  let detail = "";
  try {
    const j = JSON.parse(body.toString("utf8")) as { errors?: { code?: string; message?: string }[] };
    detail = (j.errors ?? []).map((e) => `${e.code}: ${e.message}`).join("; ");
  } catch {}
  return new McmError(`registry ${host}: ${what} answered HTTP ${status}${detail ? ` (${detail})` : ""}`);
}

function networkError(url: URL, e: NodeJS.ErrnoException): McmError {
  const code = e.code ?? "";
  log.debug(`${url}: ${e.stack ?? e.message}`);
  if (code === "ECONNREFUSED") return new McmError(`cannot reach ${url.host}: connection refused`);
  if (code === "ENOTFOUND" || code === "EAI_AGAIN") return new McmError(`cannot resolve ${url.hostname}`);
  if (/CERT|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER/.test(code)) {
    return new McmError(`TLS certificate of ${url.host} is not trusted (${code}): pass --ca-cert FILE`);
  }
  if (code === "ERR_SSL_WRONG_VERSION_NUMBER" || /wrong version number/.test(e.message)) {
    return new McmError(`${url.host} does not speak TLS: for a plain-http registry pass --insecure`);
  }
  return new TransientError(`cannot talk to ${url.host}: ${e.message}`);
}

/** A dropped connection, a timeout or a 5xx: worth another try. */
export class TransientError extends McmError {}
