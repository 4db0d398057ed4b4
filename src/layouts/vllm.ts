import type { UnitFormat, UnitSpec, VllmContext } from "../core/types.js";
import { listDir } from "./fsutil.js";
import { inductor } from "./inductor.js";
import type { Layout, WalkResult } from "./layout.js";

const TCC = "torch_compile_cache";
const AOT = "torch_aot_compile";
const FACTORS = "cache_key_factors.json";

/** `artifact_compile_range_<a>_<b>_subgraph_<i>`; older vLLM: `artifact_shape_<n>_subgraph_<i>` */
const ARTIFACT_RE = /^artifact_(?:compile_range_(\d+)_(\d+)|shape_(\w+?))_subgraph_(\d+)$/;

/**
 * VLLM_CACHE_ROOT: torch_compile_cache/<hash10>/rank_<i>_<j>/[<prefix>/] holding
 * the legacy triton_cache/ and inductor_cache/, or Inductor standalone-compile
 * artifacts; torch_compile_cache/torch_aot_compile/<hash>/rank_<i>_<j>/model
 * with AOT compile. vLLM's own generated files sit beside them.
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
        if (!h.isDirectory()) out.artifacts.push({ path: hp, kind: "vllm-artifact" });
        else if (h.name === AOT) walkAot(hp, out);
        else walkHash(hp, h.name, out);
      }
    }
  },
};

function walkHash(dir: string, hash: string, out: WalkResult): void {
  out.watchDirs.push(dir);
  for (const r of listDir(dir, out.warnings)) {
    const rp = `${dir}/${r.name}`;
    if (r.isDirectory() && /^rank_/.test(r.name)) {
      walkRank(rp, out, { vllmHash: hash, rank: r.name, prefix: null }, true);
    } else {
      out.artifacts.push({ path: rp, kind: "vllm-artifact" });
    }
  }
}

function walkRank(dir: string, out: WalkResult, ctx: VllmContext, allowPrefix: boolean): void {
  out.watchDirs.push(dir);
  const entries = listDir(dir, out.warnings);
  for (const e of entries) {
    const p = `${dir}/${e.name}`;
    const m = ARTIFACT_RE.exec(e.name);
    if (e.isDirectory() && e.name === "triton_cache") {
      out.tritonDirs.push({ path: p, ctx });
      out.watchDirs.push(p);
    } else if (e.isDirectory() && e.name === "inductor_cache") {
      inductor.walk(p, out, ctx);
    } else if (m && (e.isFile() || e.isDirectory())) {
      out.units.push(unit(p, dir, e.isDirectory() ? "unpacked" : "binary", ctx, m));
    } else if (e.isDirectory() && allowPrefix && isPrefixDir(p, out)) {
      walkRank(p, out, { ...ctx, prefix: e.name }, false);
    } else {
      if (e.name === FACTORS && e.isFile()) out.compileDirs.push({ path: dir, ctx });
      out.artifacts.push({ path: p, kind: "vllm-artifact" });
    }
  }
}

/** torch_aot_compile/<hash>/rank_<i>_<j>/model: one serialized function per rank. */
function walkAot(dir: string, out: WalkResult): void {
  out.watchDirs.push(dir);
  for (const h of listDir(dir, out.warnings)) {
    const hp = `${dir}/${h.name}`;
    if (!h.isDirectory()) {
      out.artifacts.push({ path: hp, kind: "vllm-artifact" });
      continue;
    }
    out.watchDirs.push(hp);
    for (const r of listDir(hp, out.warnings)) {
      const rp = `${hp}/${r.name}`;
      // a plain AOT model loads its graphs through this Inductor cache
      if (r.isDirectory() && r.name === "inductor_cache") {
        inductor.walk(rp, out, { vllmHash: h.name, rank: null, prefix: null });
        continue;
      }
      if (!r.isDirectory() || !/^rank_/.test(r.name)) {
        out.artifacts.push({ path: rp, kind: "vllm-artifact" });
        continue;
      }
      out.watchDirs.push(rp);
      const ctx = { vllmHash: h.name, rank: r.name, prefix: null };
      for (const f of listDir(rp, out.warnings)) {
        const fp = `${rp}/${f.name}`;
        if (f.name === "model" && (f.isFile() || f.isDirectory())) {
          out.units.push({
            path: fp,
            container: rp,
            format: "aot",
            ...ctx,
            rangeStart: null,
            rangeEnd: null,
            subgraph: null,
          });
        } else {
          if (f.name === FACTORS && f.isFile()) out.compileDirs.push({ path: rp, ctx });
          out.artifacts.push({ path: fp, kind: "vllm-artifact" });
        }
      }
    }
  }
}

function unit(path: string, container: string, format: UnitFormat, ctx: VllmContext, m: RegExpExecArray): UnitSpec {
  const num = (s: string | undefined) => (s === undefined || !/^\d+$/.test(s) ? null : Number(s));
  // an old shape-named artifact covers one batch size
  const start = m[1] !== undefined ? num(m[1]) : num(m[3]);
  const end = m[2] !== undefined ? num(m[2]) : num(m[3]);
  return { path, container, format, ...ctx, rangeStart: start, rangeEnd: end, subgraph: num(m[4]) };
}

/** Newer vLLM adds a level (backbone, eagle_head) that holds the caches. */
function isPrefixDir(p: string, out: WalkResult): boolean {
  return listDir(p, out.warnings).some(
    (e) => e.name === "triton_cache" || e.name === "inductor_cache" || e.name === FACTORS || ARTIFACT_RE.test(e.name),
  );
}
