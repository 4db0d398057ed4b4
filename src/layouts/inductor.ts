import type { OtherKind } from "../core/types.js";
import { listDir } from "./fsutil.js";
import type { Layout } from "./layout.js";

const ARTIFACT_KINDS: Record<string, OtherKind> = {
  fxgraph: "inductor-fxgraph",
  aotautograd: "inductor-aotautograd",
};

/**
 * TORCHINDUCTOR_CACHE_DIR: Triton kernels under triton/<device index>/, generated
 * code in two-letter folders, fxgraph/, aotautograd/, cache/, locks/ beside them.
 */
export const inductor: Layout = {
  name: "inductor",
  detect: (has) => has("fxgraph") || has("aotautograd") || has("triton"),
  walk(root, out, ctx) {
    out.watchDirs.push(root);
    for (const e of listDir(root, out.warnings)) {
      const p = `${root}/${e.name}`;
      if (e.name === "triton" && e.isDirectory()) {
        out.watchDirs.push(p);
        for (const dev of listDir(p, out.warnings)) {
          if (dev.isDirectory()) {
            out.tritonDirs.push({ path: `${p}/${dev.name}`, ctx });
            out.watchDirs.push(`${p}/${dev.name}`);
          } else {
            out.artifacts.push({ path: `${p}/${dev.name}`, kind: "inductor-other" });
          }
        }
        continue;
      }
      const kind = ARTIFACT_KINDS[e.name] ?? (/^[a-z0-9]{2}$/.test(e.name) ? "inductor-code" : "inductor-other");
      out.artifacts.push({ path: p, kind });
    }
  },
};
