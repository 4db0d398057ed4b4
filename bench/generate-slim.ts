// The slim cache shape, for 1M kernels on one disk: per kernel its metadata, its group file, a
// sparse .cubin and the real .ttir (what IR-only prune plans). Every kernel is a function of its
// index alone, so the bench can re-create exactly the kernels a prune removed. Sync fs calls only:
// a promise per file is what makes 4M files slow.
import { createHash } from "node:crypto";
import { closeSync, ftruncateSync, mkdirSync, openSync, writeFileSync } from "node:fs";
import {
  BASE32,
  type CacheInfo,
  NAMES,
  type OtherTemplate,
  otherCount,
  rebuild,
  reusable,
  SEED,
  type Templates,
} from "./generate.js";

/** Bump when the slim layout changes (the full shape has its own GEN_VERSION). */
const SLIM_VERSION = 1;

/** Every EVICT_EVERY-th slim kernel (and only those) has this name: `prune --full --name` of it removes 10%. */
export const EVICT_NAME = "evict_kernel";
const EVICT_EVERY = 10;
const SLIM_SUFFIXES = [".ttir", ".cubin", ".json"];

export const isEvicted = (i: number) => i % EVICT_EVERY === EVICT_EVERY - 1;

interface SlimTemplate {
  name: string;
  hash: string;
  meta: string;
  ttir: Buffer;
  cubinSize: number;
  groupOrder: string[];
}

function slimTemplates(t: Templates): SlimTemplate[] {
  return t.kernels.map((k) => {
    const file = (suffix: string) => k.files.find((f) => f.suffix === suffix)?.data;
    const ttir = file(".ttir");
    const cubin = file(".cubin");
    if (!ttir || !cubin) throw new Error(`template ${k.name} (${k.hash}) lacks a .ttir or .cubin`);
    const groupOrder = k.groupOrder.filter((s) => SLIM_SUFFIXES.includes(s));
    return { name: k.name, hash: k.hash, meta: k.meta, ttir, cubinSize: cubin.length, groupOrder };
  });
}

const digest = (label: string, i: number) => createHash("sha256").update(`${SEED}:${label}:${i}`).digest();

/** RFC 4648 base32 without padding: a sha256 gives 52 characters, like a Triton cache key. */
function base32(b: Buffer): string {
  let out = "";
  let bits = 0;
  let acc = 0;
  for (const byte of b) {
    acc = ((acc << 8) | byte) & 0xfff;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += BASE32[(acc >>> bits) & 31];
    }
  }
  return bits ? out + BASE32[(acc << (5 - bits)) & 31] : out;
}

/** The folder name of slim kernel `i`. */
export const slimKey = (i: number) => base32(digest("key", i));

function sparseFile(path: string, size: number): void {
  const fd = openSync(path, "w");
  ftruncateSync(fd, size);
  closeSync(fd);
}

/** Writes slim kernel `i` (its folder may exist: a re-creation); returns its apparent bytes. */
function writeSlimKernel(root: string, i: number, tpls: SlimTemplate[]): number {
  const h = digest("kernel", i);
  const tpl = tpls[(h[0] as number) % tpls.length] as SlimTemplate;
  const name = isEvicted(i) ? EVICT_NAME : (NAMES[(h[1] as number) % NAMES.length] as string);
  const dir = `${root}/${slimKey(i)}`;
  mkdirSync(dir, { recursive: true });
  writeFileSync(`${dir}/${name}.ttir`, tpl.ttir);
  sparseFile(`${dir}/${name}.cubin`, tpl.cubinSize);
  const meta = tpl.meta
    .replace(`"hash": "${tpl.hash}"`, `"hash": "${h.toString("hex")}"`)
    .replace(`"name": "${tpl.name}"`, `"name": "${name}"`);
  writeFileSync(`${dir}/${name}.json`, meta);
  // the group file last, as Triton writes it
  const children = tpl.groupOrder.map((s) => `${JSON.stringify(name + s)}: ${JSON.stringify(`${dir}/${name}${s}`)}`);
  const group = `{"child_paths": {${children.join(", ")}}}`;
  writeFileSync(`${dir}/__grp__${name}.json`, group);
  return tpl.ttir.length + tpl.cubinSize + Buffer.byteLength(meta) + Buffer.byteLength(group);
}

/** The slim cache at `root`: reused when its marker matches, else (re)generated. */
export function ensureSlimCache(root: string, kernels: number, templates: Templates): CacheInfo {
  mkdirSync(root, { recursive: true });
  const ok = (i: CacheInfo) => i.shape === "slim" && i.version === SLIM_VERSION && i.kernels === kernels;
  return reusable(root, ok) ?? rebuild(root, (real) => generateSlim(real, kernels, templates));
}

function generateSlim(root: string, kernels: number, t: Templates): CacheInfo {
  const started = performance.now();
  const tpls = slimTemplates(t);
  const every = Math.max(10_000, Math.round(kernels / 20));
  let bytes = 0;
  let evicted = 0;
  for (let i = 0; i < kernels; i++) {
    bytes += writeSlimKernel(root, i, tpls);
    if (isEvicted(i)) evicted++;
    if ((i + 1) % every === 0) {
      const s = ((performance.now() - started) / 1000).toFixed(1);
      process.stderr.write(`  generated ${i + 1}/${kernels} slim kernels (${s} s)\n`);
    }
  }
  // launchers and autotune files too, binaries sparse: the index walks them
  const others = t.others.length > 0 ? otherCount(kernels) : 0;
  let files = kernels * 4;
  for (let i = 0; i < others; i++) {
    const dir = `${root}/${base32(digest("other", i))}`;
    mkdirSync(dir);
    for (const f of (t.others[i % t.others.length] as OtherTemplate).files) {
      if (f.name.endsWith(".json")) writeFileSync(`${dir}/${f.name}`, f.data);
      else sparseFile(`${dir}/${f.name}`, f.data.length);
      files++;
      bytes += f.data.length;
    }
  }
  process.stderr.write(`  generated ${root} in ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
  // rareName/rareCount: the 10% that `prune --full --name` removes
  const info = { version: SLIM_VERSION, root, kernels, others, files, bytes, sparse: true };
  return { ...info, rareName: EVICT_NAME, rareCount: evicted, shape: "slim" };
}

/** Writes the slim kernels with these indices again, as generated: after a prune removed them. */
export function recreateSlim(root: string, indices: number[], templates: Templates): void {
  const tpls = slimTemplates(templates);
  for (const i of indices) writeSlimKernel(root, i, tpls);
}
