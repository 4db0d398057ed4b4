// mcm-manifest.json: the first entry of an archive `mcm export` writes. It
// lists every file with its size and sha256, so `mcm import` can refuse an
// archive that was altered or truncated.
import type { LayoutName } from "../core/types.js";
import { prettyJsonText } from "./text-entry.js";

export const MANIFEST_NAME = "mcm-manifest.json";
export const MANIFEST_FORMAT = "mcm-archive";
export const MANIFEST_VERSION = 1;
/**
 * The biggest manifest read: about 1.3 million files' records (190 bytes each
 * for a Triton kernel's files), a cache of 150,000 kernels. It is read a record
 * at a time (manifest-read.ts), but its records are all held, at about twice
 * their text's size: a bigger one is refused before it is read.
 */
export const MAX_MANIFEST_BYTES = 256 * 2 ** 20;

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

/** A manifest as export writes it: its files made a record at a time, each time they are iterated. */
export type WrittenManifest = Omit<Manifest, "files"> & { files: Iterable<ManifestFile> };

/** The text of `JSON.stringify(m, null, 1)` plus a newline, a record at a time: a manifest of a million files is never one string. */
export const manifestText = (m: WrittenManifest): Generator<string> => prettyJsonText({ ...m }, 1);
