import { lstatSync, readdirSync } from "node:fs";
import type { OtherKind, OtherRecord, ScanWarning } from "../core/types.js";
import { errorCode, warn } from "./util.js";

/** Sizes a non-kernel artifact (a file or a whole folder), never following links. */
export function readArtifact(path: string, kind: OtherKind, root: string, container: string): OtherRecord {
  const warnings: ScanWarning[] = [];
  let bytes = 0;
  let files = 0;
  const visit = (p: string) => {
    const st = lstatSync(p, { throwIfNoEntry: false });
    if (!st || st.isSymbolicLink()) return;
    if (!st.isDirectory()) {
      bytes += st.size;
      files++;
      return;
    }
    let names: string[];
    try {
      names = readdirSync(p);
    } catch (e) {
      warnings.push(warn(p, errorCode(e), `cannot read folder: ${(e as Error).message}`));
      return;
    }
    for (const n of names) visit(`${p}/${n}`);
  };
  visit(path);
  return { kind, path, root, container, bytes, files, dirMtime: -1, warnings };
}
