// Pull side: manifest (through an index if need be), config, and the layers to
// temporary files, each checked against its digest and size before use.
import { createHash } from "node:crypto";
import { createWriteStream, statfsSync } from "node:fs";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { McmError } from "../../core/errors.js";
import { log } from "../../log.js";
import { size as formatSize, plural } from "../../report/format.js";
import { MAX_JSON_BYTES } from "./http.js";
import { hostPlatform } from "./image.js";
import { type Descriptor, GZIP_LAYER_TYPES, IMAGE_MANIFEST_TYPES, INDEX_TYPES } from "./media-types.js";
import { type Registry, TransientError } from "./registry.js";

export interface PulledLayer extends Descriptor {
  path: string;
}

export interface ResolvedImage {
  manifestDigest: string;
  labels: Record<string, string>;
  layers: Descriptor[];
}

interface ManifestDoc {
  mediaType?: string;
  schemaVersion?: number;
  manifests?: Descriptor[];
  config?: Descriptor;
  layers?: Descriptor[];
}

function parse(bytes: Buffer, what: string): ManifestDoc {
  try {
    return JSON.parse(bytes.toString("utf8")) as ManifestDoc;
  } catch {
    throw new McmError(`${what} is not JSON`);
  }
}

/** From an index, the image for this platform; else the only (non-attestation) one. */
function pickFromIndex(manifests: Descriptor[]): Descriptor {
  const images = manifests.filter(
    (m) =>
      IMAGE_MANIFEST_TYPES.includes(m.mediaType) &&
      m.annotations?.["vnd.docker.reference.type"] !== "attestation-manifest" &&
      m.platform?.os !== "unknown",
  );
  const { architecture, os } = hostPlatform();
  const chosen =
    images.find((m) => m.platform?.architecture === architecture && (m.platform?.os ?? os) === os) ??
    (images.length === 1 ? images[0] : images.find((m) => !m.platform));
  if (!chosen) throw new McmError(`the index lists no image for ${os}/${architecture}`);
  return chosen;
}

/** Every cap on a blob is its descriptor's size: it must be a byte count. */
function checkSize(d: Descriptor, what: string): void {
  if (!Number.isSafeInteger(d.size) || d.size < 0) {
    throw new McmError(`${what} ${d.digest} lists size ${JSON.stringify(d.size)}, not a byte count`);
  }
}

async function fetchManifest(reg: Registry, reference: string): Promise<{ doc: ManifestDoc; digest: string }> {
  let m = await reg.getManifest(reference);
  let doc = parse(m.bytes, "the manifest");
  if (INDEX_TYPES.includes(m.mediaType || doc.mediaType || "") || (!doc.config && doc.manifests)) {
    const d = pickFromIndex(doc.manifests ?? []);
    checkSize(d, "manifest");
    log.info(`index ${m.digest}: taking ${d.digest}`);
    m = await reg.getManifest(d.digest, Math.min(d.size, MAX_JSON_BYTES));
    doc = parse(m.bytes, "the manifest");
  }
  if (!doc.config || !Array.isArray(doc.layers)) throw new McmError(`${reference} is not an image manifest`);
  return { doc, digest: m.digest };
}

/**
 * Streams a blob to `path`, hashing as it goes; stops as soon as more bytes come
 * than its descriptor lists. A short, long or wrong blob is removed and refused.
 */
async function downloadBlob(reg: Registry, d: Descriptor, path: string): Promise<void> {
  const tooLong = () =>
    new McmError(`${reg.host}: layer ${d.digest} sent more than the ${d.size} bytes its descriptor lists; stopped`);
  for (let attempt = 1; ; attempt++) {
    const hash = createHash("sha256");
    let n = 0;
    const counter = new Transform({
      transform(chunk: Buffer, _enc, done) {
        n += chunk.length;
        if (n > d.size) return done(tooLong());
        hash.update(chunk);
        done(null, chunk);
      },
    });
    try {
      const res = await reg.openBlob(d.digest, d.size);
      if (Number(res.headers["content-length"] ?? 0) > d.size) {
        res.body.destroy();
        throw tooLong();
      }
      await pipeline(res.body, counter, createWriteStream(path));
    } catch (e) {
      await rm(path, { force: true });
      const code = (e as NodeJS.ErrnoException).code ?? "";
      const transient = e instanceof TransientError || code === "ECONNRESET" || code === "ETIMEDOUT";
      if (!transient || attempt >= 3)
        throw e instanceof McmError ? e : new McmError(`download of ${d.digest} failed: ${(e as Error).message}`);
      continue;
    }
    const got = `sha256:${hash.digest("hex")}`;
    if (got !== d.digest || n !== d.size) {
      await rm(path, { force: true });
      throw new McmError(
        `layer ${d.digest} from ${reg.host} does not match its digest: got ${got}, ${n} bytes (expected ${d.size}); nothing was imported`,
      );
    }
    return;
  }
}

/** Manifest and config: enough to read the labels before any layer is fetched. */
export async function resolveImage(reg: Registry, reference: string): Promise<ResolvedImage> {
  const { doc, digest } = await fetchManifest(reg, reference);
  const configDesc = doc.config as Descriptor;
  checkSize(configDesc, "config");
  if (configDesc.size > MAX_JSON_BYTES) {
    throw new McmError(`config ${configDesc.digest} lists ${configDesc.size} bytes: above ${MAX_JSON_BYTES}, refused`);
  }
  const config = parse(await reg.getBlob(configDesc.digest, configDesc.size), "the image config") as {
    config?: { Labels?: Record<string, string> };
  };
  const layers = doc.layers as Descriptor[];
  for (const d of layers) {
    checkSize(d, "layer");
    if (!GZIP_LAYER_TYPES.includes(d.mediaType)) {
      throw new McmError(`layer ${d.digest} has media type ${d.mediaType}: MCV images use gzip tar layers`);
    }
  }
  return { manifestDigest: digest, labels: config.config?.Labels ?? {}, layers };
}

/**
 * Refuses, before any download, an image whose layers list more than `maxBytes`
 * (--max-size) or than the temp folder has free.
 */
export function checkListedSize(layers: Descriptor[], maxBytes: number | undefined, tmpDir: string): void {
  const total = layers.reduce((a, d) => a + d.size, 0);
  const listed = `the image's ${plural(layers.length, "layer")} list${layers.length === 1 ? "s" : ""} ${formatSize(total)}`;
  if (maxBytes !== undefined && total > maxBytes) {
    throw new McmError(`${listed}, above --max-size ${formatSize(maxBytes)}; nothing was downloaded`);
  }
  const { bavail, bsize } = statfsSync(tmpDir);
  if (total > bavail * bsize) {
    throw new McmError(
      `${listed}; ${tmpDir} has ${formatSize(bavail * bsize)} free (set TMPDIR elsewhere); nothing was downloaded`,
    );
  }
}

export async function downloadLayers(reg: Registry, layers: Descriptor[], tmpDir: string): Promise<PulledLayer[]> {
  const out: PulledLayer[] = [];
  for (const [i, d] of layers.entries()) {
    const path = join(tmpDir, `layer-${i}.tar.gz`);
    await downloadBlob(reg, d, path);
    out.push({ ...d, path });
  }
  return out;
}
