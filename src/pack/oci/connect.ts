// From command-line flags to a Registry: credentials, CAs, http or https.
import { existsSync } from "node:fs";
import { McmError } from "../../core/errors.js";
import { type Credentials, findCredentials, parseCreds } from "./credentials.js";
import { trustedCas } from "./http.js";
import { apiHost, type ImageRef } from "./ref.js";
import { Registry } from "./registry.js";

export interface TransportOptions {
  creds?: string;
  caCert?: string;
  insecure?: boolean;
}

const CERTS_DIRS = ["/etc/containers/certs.d", "/etc/docker/certs.d"];

export function openRegistry(ref: ImageRef, o: TransportOptions, env: NodeJS.ProcessEnv = process.env): Registry {
  if (o.caCert !== undefined && !existsSync(o.caCert)) throw new McmError(`--ca-cert: no such file ${o.caCert}`);
  if (o.caCert !== undefined && o.insecure)
    throw new McmError("--ca-cert and --insecure do not go together: --insecure is plain http");
  let creds: Credentials | undefined;
  let helperFile: string | undefined;
  if (o.creds !== undefined) creds = parseCreds(o.creds);
  else ({ found: creds, helperFile } = findCredentials(ref.registry, ref.repository, env));
  const host = apiHost(ref);
  const ca = o.insecure ? undefined : trustedCas(host, o.caCert, CERTS_DIRS);
  return new Registry(ref, { insecure: o.insecure === true, ca, creds, helperFile });
}
