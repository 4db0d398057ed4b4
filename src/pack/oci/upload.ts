// Blob upload (POST, PATCH, PUT) that skips blobs the registry has and survives a
// dropped connection: it asks the upload session where it stands (GET, Range)
// and resumes there, or starts a new session when the registry dropped it.
import { createReadStream } from "node:fs";
import { Readable } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
import { McmError } from "../../core/errors.js";
import { log } from "../../log.js";
import { drain, readBody } from "./http.js";
import { apiError, type Registry, TransientError } from "./registry.js";

export interface BlobSource {
  digest: string;
  size: number;
  /** a file on disk, or bytes in memory */
  path?: string;
  data?: Buffer;
}

export interface UploadResult {
  digest: string;
  /** false when the registry already had the blob */
  sent: boolean;
  attempts: number;
}

const TRIES = 5;
/** PATCH size: a dropped connection costs at most one chunk where the registry can resume */
const CHUNK = Number(process.env.MCM_UPLOAD_CHUNK) > 0 ? Number(process.env.MCM_UPLOAD_CHUNK) : 16 * 1024 * 1024;

function open(src: BlobSource, start: number, end: number): () => Readable {
  return () => {
    if (src.path !== undefined) return createReadStream(src.path, { start, end: end - 1 });
    return Readable.from([(src.data as Buffer).subarray(start, end)]);
  };
}

/** The registry no longer takes this session where we are: start a new one. */
class SessionLost extends TransientError {}

export async function uploadBlob(reg: Registry, src: BlobSource): Promise<UploadResult> {
  if (await reg.hasBlob(src.digest)) return { digest: src.digest, sent: false, attempts: 0 };
  let location: URL | undefined;
  let offset = 0;
  for (let attempt = 1; ; attempt++) {
    try {
      if (location === undefined) {
        location = await start(reg);
        offset = 0;
      }
      while (offset < src.size) {
        const end = Math.min(offset + CHUNK, src.size);
        location = await patch(reg, location, src, offset, end);
        offset = end;
      }
      await finish(reg, location, src.digest);
      return { digest: src.digest, sent: true, attempts: attempt };
    } catch (e) {
      if (!(e instanceof TransientError) || attempt >= TRIES) throw e;
      log.info(`upload of ${src.digest} interrupted at ${offset} (${e.message}); asking where it stands`);
      await sleep(200 * 2 ** (attempt - 1));
      const where =
        location && !(e instanceof SessionLost) ? await status(reg, location).catch(() => undefined) : undefined;
      location = where?.location;
      offset = where?.offset ?? 0;
      if (where && where.offset > src.size) location = undefined;
    }
  }
}

async function start(reg: Registry): Promise<URL> {
  const res = await reg.send(
    reg.repoUrl("blobs/uploads/"),
    { method: "POST", headers: { "Content-Length": "0" } },
    "push",
  );
  const body = await readBody(res);
  if (res.status >= 500)
    throw new TransientError(`registry ${reg.host}: starting an upload answered HTTP ${res.status}`);
  if (res.status !== 202 || !res.headers.location) throw apiError(reg.host, "POST blob upload", res.status, body);
  return new URL(res.headers.location, reg.base);
}

async function patch(reg: Registry, location: URL, src: BlobSource, offset: number, end: number): Promise<URL> {
  const res = await reg.send(
    location,
    {
      method: "PATCH",
      headers: {
        "Content-Type": "application/octet-stream",
        "Content-Length": String(end - offset),
        "Content-Range": `${offset}-${end - 1}`,
      },
      body: open(src, offset, end),
      timeoutMs: 120_000,
    },
    "push",
  );
  const body = await readBody(res);
  if (res.status >= 500) throw new TransientError(`registry ${reg.host}: PATCH answered HTTP ${res.status}`);
  if (res.status === 416) throw new SessionLost(`registry ${reg.host}: upload offset ${offset} refused`);
  if (res.status !== 202) throw apiError(reg.host, "PATCH blob upload", res.status, body);
  return res.headers.location ? new URL(res.headers.location, reg.base) : location;
}

async function finish(reg: Registry, location: URL, digest: string): Promise<void> {
  const url = new URL(location);
  url.searchParams.set("digest", digest);
  const res = await reg.send(url, { method: "PUT", headers: { "Content-Length": "0" } }, "push");
  const body = await readBody(res);
  if (res.status >= 500) throw new TransientError(`registry ${reg.host}: PUT upload answered HTTP ${res.status}`);
  if (res.status !== 201) throw apiError(reg.host, "PUT blob upload", res.status, body);
  const got = res.headers["docker-content-digest"];
  if (got && got !== digest) throw new McmError(`registry ${reg.host} stored ${digest} as ${got}`);
}

/** GET on the session: 204 with `Range: 0-<last byte>` says how much arrived. */
async function status(reg: Registry, location: URL): Promise<{ location: URL; offset: number } | undefined> {
  const res = await reg.send(location, { method: "GET" }, "push");
  await drain(res);
  if (res.status !== 204) return undefined;
  const m = /^(?:bytes=)?0-(\d+)$/.exec(String(res.headers.range ?? ""));
  // distribution answers 0-0 for both 0 and 1 byte: read it as 0 and let the PATCH sort it out
  const offset = m && m[1] !== "0" ? Number(m[1]) + 1 : 0;
  return { location: res.headers.location ? new URL(res.headers.location, reg.base) : location, offset };
}
