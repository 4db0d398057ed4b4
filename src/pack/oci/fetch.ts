// Pull side: manifest (through an index if need be), config, and the layers to
// temporary files, each checked against its digest and size before use.
import { createHash } from "node:crypto";
import { createWriteStream } from "node:fs";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { McmError } from "../../core/errors.js";
import { log } from "../../log.js";
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

async function fetchManifest(reg: Registry, reference: string): Promise<{ doc: ManifestDoc; digest: string }> {
  let m = await reg.getManifest(reference);
  let doc = parse(m.bytes, "the manifest");
  if (INDEX_TYPES.includes(m.mediaType || doc.mediaType || "") || (!doc.config && doc.manifests)) {
    const d = pickFromIndex(doc.manifests ?? []);
    log.info(`index ${m.digest}: taking ${d.digest}`);
    m = await reg.getManifest(d.digest);
    doc = parse(m.bytes, "the manifest");
  }
  if (!doc.config || !Array.isArray(doc.layers)) throw new McmError(`${reference} is not an image manifest`);
  return { doc, digest: m.digest };
}

/** Streams a blob to `path`, hashing as it goes; a short or wrong blob is removed and refused. */
async function downloadBlob(reg: Registry, d: Descriptor, path: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    const hash = createHash("sha256");
    let n = 0;
    const counter = new Transform({
      transform(chunk: Buffer, _enc, done) {
        hash.update(chunk);
        n += chunk.length;
        done(null, chunk);
      },
    });
    try {
      const res = await reg.openBlob(d.digest);
      await pipeline(res.body, counter, createWriteStream(path));
    } catch (e) {
      await rm(path, { force: true });
      const transient = e instanceof TransientError || (e as NodeJS.ErrnoException).code === "ECONNRESET";
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
  const config = parse(await reg.getBlob((doc.config as Descriptor).digest, 4 * 1024 * 1024), "the image config") as {
    config?: { Labels?: Record<string, string> };
  };
  const layers = doc.layers as Descriptor[];
  for (const d of layers) {
    if (!GZIP_LAYER_TYPES.includes(d.mediaType)) {
      throw new McmError(`layer ${d.digest} has media type ${d.mediaType}: MCV images use gzip tar layers`);
    }
  }
  return { manifestDigest: digest, labels: config.config?.Labels ?? {}, layers };
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
