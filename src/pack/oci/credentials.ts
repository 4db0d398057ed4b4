// Registry credentials where docker, podman and skopeo keep them.
import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { McmError } from "../../core/errors.js";

export interface Credentials {
  username: string;
  password: string;
  /** where they came from, for error messages */
  source: string;
}

interface AuthFile {
  auths?: Record<string, { auth?: string; username?: string; password?: string; identitytoken?: string }>;
  credHelpers?: Record<string, string>;
  credsStore?: string;
}

/** `--creds USER:PASS` (the password may contain colons). */
export function parseCreds(text: string): Credentials {
  const i = text.indexOf(":");
  if (i <= 0) throw new McmError("--creds needs USER:PASS");
  return { username: text.slice(0, i), password: text.slice(i + 1), source: "--creds" };
}

/**
 * The files podman/skopeo then docker read, in their order: REGISTRY_AUTH_FILE,
 * $XDG_RUNTIME_DIR/containers/auth.json, ~/.config/containers/auth.json,
 * $DOCKER_CONFIG/config.json or ~/.docker/config.json.
 */
function authFiles(env: NodeJS.ProcessEnv = process.env): string[] {
  const home = env.HOME ?? homedir();
  const files: string[] = [];
  if (env.REGISTRY_AUTH_FILE) files.push(env.REGISTRY_AUTH_FILE);
  if (env.XDG_RUNTIME_DIR) files.push(join(env.XDG_RUNTIME_DIR, "containers", "auth.json"));
  files.push(join(env.XDG_CONFIG_HOME ?? join(home, ".config"), "containers", "auth.json"));
  files.push(join(env.DOCKER_CONFIG ?? join(home, ".docker"), "config.json"));
  return files;
}

/** Keys a file may use for a registry: `host`, `https://host`, `http://host`, `host/v1/`. */
function normaliseKey(key: string): string {
  return key
    .replace(/^https?:\/\//, "")
    .replace(/\/+$/, "")
    .replace(/\/v[12]$/, "");
}

export interface CredentialLookup {
  found: Credentials | undefined;
  /** a file that points this registry at a credential helper, which mcm does not run */
  helperFile: string | undefined;
}

/**
 * The credentials for `registry/repository`: the most specific matching key
 * (podman allows `host/namespace/repo`), first file that has one wins.
 * Credential helpers (`credHelpers`, `credsStore`) are not run; the lookup
 * says where one was named so an authentication error can tell the user.
 */
export function findCredentials(
  registry: string,
  repository: string,
  env: NodeJS.ProcessEnv = process.env,
): CredentialLookup {
  const hub = registry === "docker.io";
  const wanted = [registry, ...(hub ? ["index.docker.io", "registry-1.docker.io"] : [])];
  let helperFile: string | undefined;
  for (const file of authFiles(env)) {
    let parsed: AuthFile;
    try {
      parsed = JSON.parse(readFileSync(file, "utf8")) as AuthFile;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") continue;
      throw new McmError(`cannot read credentials file ${file}: ${(e as Error).message}`);
    }
    const entries = Object.entries(parsed.auths ?? {}).map(([k, v]) => [normaliseKey(k), v] as const);
    const candidates: string[] = [];
    const parts = repository.split("/");
    for (const host of wanted) {
      for (let i = parts.length; i > 0; i--) candidates.push(`${host}/${parts.slice(0, i).join("/")}`);
      candidates.push(host);
    }
    for (const c of candidates) {
      const hit = entries.find(([k]) => k === c)?.[1];
      if (!hit) continue;
      const found = decode(hit, file);
      if (found) return { found, helperFile };
    }
    if (helperFile === undefined && (wanted.some((h) => parsed.credHelpers?.[h]) || parsed.credsStore))
      helperFile = file;
  }
  return { found: undefined, helperFile };
}

function decode(entry: NonNullable<AuthFile["auths"]>[string], file: string): Credentials | undefined {
  if (entry.username && entry.password) return { username: entry.username, password: entry.password, source: file };
  if (!entry.auth) return undefined;
  const plain = Buffer.from(entry.auth, "base64").toString("utf8");
  const i = plain.indexOf(":");
  return i > 0 ? { username: plain.slice(0, i), password: plain.slice(i + 1), source: file } : undefined;
}
