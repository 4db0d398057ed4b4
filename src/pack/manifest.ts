// mcm-manifest.json: the first entry of an archive `mcm export` writes. It
// lists every file with its size and sha256, so `mcm import` can refuse an
// archive that was altered or truncated.
import { McmError } from "../core/errors.js";
import { jsonTooDeep, TOO_DEEP } from "../core/json-depth.js";
import type { LayoutName } from "../core/types.js";
import { LAYOUT_NAMES } from "../layouts/index.js";

export const MANIFEST_NAME = "mcm-manifest.json";
export const MANIFEST_FORMAT = "mcm-archive";
export const MANIFEST_VERSION = 1;
/** The biggest manifest read: about 100,000 files' records (a 50 MB one was parsed whole, then crashed). */
export const MAX_MANIFEST_BYTES = 16 * 2 ** 20;

export interface ManifestKernel {
  /** the kernel folder, relative to the cache root */
  path: string;
  name: string;
  backend: string;
  arch: string;
  tritonVersion: string | null;
}

export interface ManifestFile {
  /** relative to the cache root */
  path: string;
  size: number;
  sha256: string;
}

export interface Manifest {
  format: typeof MANIFEST_FORMAT;
  formatVersion: number;
  layout: LayoutName;
  /** "cache": the whole cache root; "kernels": only the kernel folders a filter selected */
  scope: "cache" | "kernels";
  /** the root the group files point at (where the cache was compiled), when they agree; never the export path */
  sourceRoot: string | null;
  kernels: ManifestKernel[];
  files: ManifestFile[];
  totals: { kernels: number; files: number; bytes: number };
}

const fail = (why: string): never => {
  throw new McmError(`invalid ${MANIFEST_NAME}: ${why}`);
};

/** Refuses a manifest over MAX_MANIFEST_BYTES; callers that know its size early (a tar header) check it then. */
export function checkManifestSize(bytes: number): void {
  if (bytes > MAX_MANIFEST_BYTES)
    fail(`${(bytes / 1e6).toFixed(1)} MB, over the ${MAX_MANIFEST_BYTES / 2 ** 20} MiB cap`);
}

/** Parses and checks a manifest; one clear error when it is not one mcm can trust. */
export function parseManifest(text: string): Manifest {
  checkManifestSize(Buffer.byteLength(text));
  if (jsonTooDeep(text)) fail(TOO_DEEP); // fail() below stringifies records
  let m: Manifest;
  try {
    m = JSON.parse(text) as Manifest;
  } catch (e) {
    return fail((e as Error).message);
  }
  if (!m || typeof m !== "object" || m.format !== MANIFEST_FORMAT) fail("not an mcm archive manifest");
  if (m.formatVersion !== MANIFEST_VERSION) {
    fail(`format version ${m.formatVersion}; this mcm reads version ${MANIFEST_VERSION} (upgrade mcm)`);
  }
  if (!LAYOUT_NAMES.includes(m.layout)) fail(`unknown layout ${JSON.stringify(m.layout)}`);
  if (!Array.isArray(m.files) || !Array.isArray(m.kernels)) fail("no file or kernel list");
  for (const f of m.files) {
    if (
      typeof f?.path !== "string" ||
      !Number.isSafeInteger(f.size) ||
      f.size < 0 ||
      typeof f.sha256 !== "string" ||
      !/^[0-9a-f]{64}$/.test(f.sha256)
    ) {
      fail(`bad file record ${JSON.stringify(f)}`);
    }
  }
  return m;
}

/** `JSON.stringify(v, null, 1)` one level deeper (`depth` spaces more on every line but the first). */
const nested = (v: unknown, depth: string) => JSON.stringify(v, null, 1).replaceAll("\n", `\n${depth}`);

/**
 * The text of `JSON.stringify(m, null, 1)` plus a newline, a record at a time: a
 * manifest of a million files is never one string (nor its Buffer copy). A JSON
 * string holds no raw newline, so indenting after each "\n" indents lines only.
 */
export function* manifestText(m: Manifest): Generator<string> {
  const keys = Object.keys(m) as (keyof Manifest)[];
  yield "{";
  for (const [i, k] of keys.entries()) {
    const v = m[k];
    yield `${i ? "," : ""}\n ${JSON.stringify(k)}: `;
    if (!Array.isArray(v) || v.length === 0) {
      yield nested(v, " ");
      continue;
    }
    yield "[";
    for (const [j, x] of v.entries()) yield `${j ? "," : ""}\n  ${nested(x, "  ")}`;
    yield "\n ]";
  }
  yield keys.length ? "\n}\n" : "}\n";
}
