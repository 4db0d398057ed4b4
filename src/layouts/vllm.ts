import type { VllmContext } from "../core/types.js";
import { listDir } from "./fsutil.js";
import { inductor } from "./inductor.js";
import type { Layout, WalkResult } from "./layout.js";

const TCC = "torch_compile_cache";

/**
 * VLLM_CACHE_ROOT: torch_compile_cache/<hash10>/rank_<i>_<j>/[<prefix>/] holding
 * triton_cache/ and inductor_cache/ plus vLLM's own generated files.
 */
export const vllm: Layout = {
  name: "vllm",
  detect: (has) => has(TCC),
  walk(root, out) {
    out.watchDirs.push(root);
    for (const e of listDir(root, out.warnings)) {
      const p = `${root}/${e.name}`;
      if (e.name !== TCC || !e.isDirectory()) {
        out.artifacts.push({ path: p, kind: "vllm-artifact" });
        continue;
      }
      out.watchDirs.push(p);
      for (const h of listDir(p, out.warnings)) {
        const hp = `${p}/${h.name}`;
        if (!h.isDirectory()) {
          out.artifacts.push({ path: hp, kind: "vllm-artifact" });
          continue;
        }
        out.watchDirs.push(hp);
        for (const r of listDir(hp, out.warnings)) {
          const rp = `${hp}/${r.name}`;
          if (r.isDirectory() && /^rank_/.test(r.name)) {
            walkRank(rp, out, { vllmHash: h.name, rank: r.name, prefix: null }, true);
          } else {
            out.artifacts.push({ path: rp, kind: "vllm-artifact" });
          }
        }
      }
    }
  },
};

function walkRank(dir: string, out: WalkResult, ctx: VllmContext, allowPrefix: boolean): void {
  out.watchDirs.push(dir);
  for (const e of listDir(dir, out.warnings)) {
    const p = `${dir}/${e.name}`;
    if (e.isDirectory() && e.name === "triton_cache") {
      out.tritonDirs.push({ path: p, ctx });
      out.watchDirs.push(p);
    } else if (e.isDirectory() && e.name === "inductor_cache") {
      inductor.walk(p, out, ctx);
    } else if (e.isDirectory() && allowPrefix && isPrefixDir(p, out)) {
      walkRank(p, out, { ...ctx, prefix: e.name }, false);
    } else {
      out.artifacts.push({ path: p, kind: "vllm-artifact" });
    }
  }
}

/** Newer vLLM adds a level (backbone, eagle_head) that holds the caches. */
function isPrefixDir(p: string, out: WalkResult): boolean {
  return listDir(p, out.warnings).some((e) => e.name === "triton_cache" || e.name === "inductor_cache");
}
