// An OCI image layout folder (oci-layout, index.json, blobs/sha256/...), as
// `skopeo copy oci:DIR:TAG` and `podman pull oci:DIR:TAG` read it.
import { copyFile, mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { McmError } from "../../core/errors.js";
import type { BuiltImage } from "./image.js";
import { type Descriptor, OCI_MANIFEST } from "./media-types.js";

const REF_NAME = "org.opencontainers.image.ref.name";

interface Index {
  schemaVersion: 2;
  mediaType?: string;
  manifests: Descriptor[];
}

async function writeBlob(dir: string, digest: string, data: Buffer | string): Promise<void> {
  const path = join(dir, "blobs", ...digest.split(":"));
  const tmp = `${path}.tmp-${process.pid}`;
  if (Buffer.isBuffer(data)) await writeFile(tmp, data);
  else await copyFile(data, tmp);
  await rename(tmp, path);
}

/** Adds the image to DIR (made if missing) under `tag`, replacing an older image of that tag. */
export async function writeLayout(dir: string, image: BuiltImage, tag: string): Promise<void> {
  await mkdir(join(dir, "blobs", "sha256"), { recursive: true });
  let index: Index = { schemaVersion: 2, mediaType: "application/vnd.oci.image.index.v1+json", manifests: [] };
  try {
    index = JSON.parse(await readFile(join(dir, "index.json"), "utf8")) as Index;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw new McmError(`${dir}/index.json is not readable JSON`);
  }
  await writeBlob(dir, image.layer.digest, image.layer.path);
  await writeBlob(dir, image.configDigest, image.config);
  await writeBlob(dir, image.manifestDigest, image.manifest);
  const entry: Descriptor = {
    mediaType: OCI_MANIFEST,
    digest: image.manifestDigest,
    size: image.manifest.length,
    annotations: { [REF_NAME]: tag },
  };
  index.manifests = [...index.manifests.filter((m) => m.annotations?.[REF_NAME] !== tag), entry];
  await writeFile(join(dir, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
  const tmp = join(dir, `index.json.tmp-${process.pid}`);
  await writeFile(tmp, JSON.stringify(index));
  await rename(tmp, join(dir, "index.json"));
}
