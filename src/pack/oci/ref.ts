// Image references as docker and podman read them: [registry/]repository[:tag][@digest].
import { McmError } from "../../core/errors.js";

export interface ImageRef {
  /** host[:port] as written, docker.io for Docker Hub */
  registry: string;
  /** repository path, `library/` added for one-component Docker Hub names */
  repository: string;
  tag: string | undefined;
  digest: string | undefined;
}

const DOCKER_HUB = "docker.io";
const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const DIGEST = /^sha256:[a-f0-9]{64}$/;

/**
 * Docker's rule: the first path component is a registry only when it has a
 * `.` or a `:` or is `localhost`; otherwise the name is on Docker Hub.
 */
export function parseRef(text: string): ImageRef {
  const bad = (why: string) => new McmError(`invalid image reference '${text}': ${why}`);
  let rest = text.trim();
  if (rest === "") throw bad("empty");
  let digest: string | undefined;
  const at = rest.indexOf("@");
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) throw bad("the digest must be sha256: and 64 hex digits");
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(":");
  if (colon > rest.lastIndexOf("/")) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) throw bad(`invalid tag '${tag}'`);
  }
  const parts = rest.split("/");
  let registry = DOCKER_HUB;
  const first = parts[0] as string;
  if (parts.length > 1 && (first.includes(".") || first.includes(":") || first === "localhost")) {
    registry = first;
    parts.shift();
  }
  if (registry === "index.docker.io" || registry === "registry-1.docker.io") registry = DOCKER_HUB;
  if (registry === DOCKER_HUB && parts.length === 1) parts.unshift("library");
  for (const p of parts) if (!COMPONENT.test(p)) throw bad(`'${p}' is not a valid repository name part`);
  if (tag === undefined && digest === undefined) tag = "latest";
  return { registry, repository: parts.join("/"), tag, digest };
}

/** The host that serves the API (Docker Hub answers on registry-1.docker.io). */
export function apiHost(ref: ImageRef): string {
  return ref.registry === DOCKER_HUB ? "registry-1.docker.io" : ref.registry;
}

/** What manifests are pushed to and fetched by: the digest when given, else the tag. */
export function manifestRef(ref: ImageRef): string {
  return ref.digest ?? (ref.tag as string);
}

export function formatRef(ref: ImageRef): string {
  return `${ref.registry}/${ref.repository}${ref.tag ? `:${ref.tag}` : ""}${ref.digest ? `@${ref.digest}` : ""}`;
}
