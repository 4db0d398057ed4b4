// Packs a warmed folder into an archive that `mcm import` reads.
import { McmError } from "../core/errors.js";

export async function packCapture(
  _folder: string,
  _out: string,
): Promise<{ path: string; bytes: number; sha256: string }> {
  throw new McmError("--tarball is not available yet in this build");
}
