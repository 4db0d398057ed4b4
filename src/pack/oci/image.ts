// The image around one layer: config (labels, diff_id) and manifest, as canonical
// bytes with no clock in them, so the same layer and labels give the same digest.
import { createHash } from "node:crypto";
import { type Descriptor, OCI_CONFIG, OCI_LAYER_GZIP, OCI_MANIFEST } from "./media-types.js";

export interface LayerFile {
  path: string;
  /** sha256 of the gzip bytes */
  digest: string;
  /** sha256 of the uncompressed tar (the config's diff_id) */
  diffId: string;
  size: number;
  /** files written as hard links to an identical earlier file */
  linked?: number;
}

export interface BuiltImage {
  config: Buffer;
  configDigest: string;
  manifest: Buffer;
  manifestDigest: string;
  layer: LayerFile;
}

/** The digest of bytes in memory, as descriptors write it. */
export function sha256(bytes: Buffer): string {
  return `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
}

/** Digests of a .tar.gz on disk: of the file and of what it unpacks to. */
/** GOARCH names, as image configs spell the platform. */
export function hostPlatform(): { architecture: string; os: string } {
  const map: Record<string, string> = { x64: "amd64", arm64: "arm64", ppc64: "ppc64le", s390x: "s390x" };
  return { architecture: map[process.arch] ?? process.arch, os: "linux" };
}

function sortedLabels(labels: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

export function buildImage(layer: LayerFile, labels: Record<string, string>): BuiltImage {
  const { architecture, os } = hostPlatform();
  const config = Buffer.from(
    JSON.stringify({
      created: "1970-01-01T00:00:00Z",
      architecture,
      os,
      config: { Labels: sortedLabels(labels) },
      rootfs: { type: "layers", diff_ids: [layer.diffId] },
      history: [{ created: "1970-01-01T00:00:00Z", created_by: "mcm push" }],
    }),
  );
  const configDigest = sha256(config);
  const layerDesc: Descriptor = { mediaType: OCI_LAYER_GZIP, digest: layer.digest, size: layer.size };
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: OCI_CONFIG, digest: configDigest, size: config.length },
      layers: [layerDesc],
    }),
  );
  return { config, configDigest, manifest, manifestDigest: sha256(manifest), layer };
}
