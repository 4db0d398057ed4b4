// Builds a synthetic Triton cache from the real fixture's folders: same files,
// same sizes, new folder names, hashes, kernel names and group paths.
import { execFileSync } from "node:child_process";
import {
  closeSync,
  existsSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";

/** Bump when the generated layout changes: older caches are then rebuilt. */
const GEN_VERSION = 1;
export const SEED = 0x6d636d;
export const NAMES = [
  "add_kernel",
  "matmul_kernel",
  "softmax_kernel",
  "fused_add_mul_kernel",
  "layer_norm_fwd_kernel",
  "triton_poi_fused_add_0",
];
/** A name that appears in only RARE_COUNT kernels, for `mcm list --name`. */
export const RARE_NAME = "rare_flash_attn_kernel";
const RARE_COUNT = 10;

interface KernelTemplate {
  name: string;
  hash: string;
  meta: string;
  /** every other file, by the part of its name after the kernel name (".cubin", ...) */
  files: { suffix: string; data: Buffer }[];
  /** the group file's child_paths keys, as suffixes, in the template's order */
  groupOrder: string[];
}

export interface OtherTemplate {
  files: { name: string; data: Buffer }[];
}

export interface Templates {
  kernels: KernelTemplate[];
  others: OtherTemplate[];
}

export interface CacheInfo {
  version: number;
  root: string;
  kernels: number;
  others: number;
  files: number;
  bytes: number;
  rareName: string;
  rareCount: number;
  sparse: boolean;
  /** absent in markers older than the slim shape (generate-slim.ts): "full" */
  shape?: "full" | "slim";
}

/** Extracts the real Triton fixture once and loads its folders as templates. */
export function loadTemplates(workDir: string, tarball: string): Templates {
  const fixture = join(workDir, "fixture");
  const cache = join(fixture, "triton-cache");
  if (!existsSync(cache)) {
    mkdirSync(fixture, { recursive: true });
    execFileSync("tar", ["-xzf", tarball, "-C", fixture]);
  }
  const out: Templates = { kernels: [], others: [] };
  for (const key of readdirSync(cache).sort()) {
    const dir = join(cache, key);
    const names = readdirSync(dir).sort();
    const group = names.find((n) => n.startsWith("__grp__") && n.endsWith(".json"));
    if (!group) {
      out.others.push({ files: names.map((n) => ({ name: n, data: readFileSync(join(dir, n)) })) });
      continue;
    }
    const name = group.slice("__grp__".length, -".json".length);
    const meta = readFileSync(join(dir, `${name}.json`), "utf8");
    const hash = /"hash": "([0-9a-f]+)"/.exec(meta)?.[1];
    if (!hash || !meta.includes(`"name": "${name}"`)) throw new Error(`unexpected metadata in ${dir}`);
    const children = (JSON.parse(readFileSync(join(dir, group), "utf8")) as { child_paths: Record<string, string> })
      .child_paths;
    out.kernels.push({
      name,
      hash,
      meta,
      files: names
        .filter((n) => n !== group && n !== `${name}.json`)
        .map((n) => ({ suffix: n.slice(name.length), data: readFileSync(join(dir, n)) })),
      groupOrder: Object.keys(children).map((n) => n.slice(name.length)),
    });
  }
  if (out.kernels.length === 0) throw new Error(`no kernel folders in ${cache}`);
  return out;
}

/** mulberry32: a small seeded generator, so every run builds the same cache. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomString(rand: () => number, alphabet: string, length: number): string {
  let s = "";
  for (let i = 0; i < length; i++) s += alphabet[Math.floor(rand() * alphabet.length)];
  return s;
}

export const BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const HEX = "0123456789abcdef";

/** Non-kernel entries (launcher/utils .so, autotune json) beside `kernels` kernels. */
export function otherCount(kernels: number): number {
  return Math.max(6, Math.round(kernels / 100));
}

function markerPath(root: string): string {
  return `${root}.json`;
}

/** The marker's info when it describes this cache as wanted, else null. */
export function reusable(root: string, ok: (info: CacheInfo) => boolean): CacheInfo | null {
  const marker = markerPath(root);
  if (!existsSync(marker)) return null;
  const info = JSON.parse(readFileSync(marker, "utf8")) as CacheInfo;
  return info.root === realpathSync(root) && ok(info) ? info : null;
}

/** Empties `root`, runs `make` on it, and writes the marker: a killed run leaves no marker. */
export function rebuild(root: string, make: (real: string) => CacheInfo): CacheInfo {
  const real = realpathSync(root);
  rmSync(markerPath(root), { force: true });
  rmSync(real, { recursive: true, force: true });
  mkdirSync(real);
  const info = make(real);
  writeFileSync(markerPath(root), `${JSON.stringify(info, null, 2)}\n`);
  return info;
}

/**
 * The cache at `root` with `kernels` kernels: reused when its marker says it
 * matches, else (re)generated. The marker sits beside the root, not inside it.
 */
export function ensureCache(root: string, kernels: number, templates: Templates, sparse: boolean): CacheInfo {
  mkdirSync(root, { recursive: true });
  const ok = (i: CacheInfo) =>
    (i.shape ?? "full") === "full" && i.version === GEN_VERSION && i.kernels === kernels && i.sparse === sparse;
  return reusable(root, ok) ?? rebuild(root, (real) => generate(real, kernels, templates, sparse));
}

function generate(root: string, kernels: number, t: Templates, sparse: boolean): CacheInfo {
  const started = performance.now();
  const rand = rng(SEED ^ kernels);
  const rareEvery = Math.max(1, Math.floor(kernels / RARE_COUNT));
  const used = new Set<string>();
  const newKey = () => {
    let key: string;
    do key = randomString(rand, BASE32, 52);
    while (used.has(key));
    used.add(key);
    return key;
  };
  const write = (path: string, data: Buffer | string) => {
    if (!sparse || typeof data === "string") {
      writeFileSync(path, data);
      return;
    }
    // same size, no blocks: for disks that cannot hold the full cache
    const fd = openSync(path, "w");
    ftruncateSync(fd, data.length);
    closeSync(fd);
  };

  let files = 0;
  let bytes = 0;
  let rare = 0;
  for (let i = 0; i < kernels; i++) {
    const tpl = t.kernels[Math.floor(rand() * t.kernels.length)] as KernelTemplate;
    const isRare = i % rareEvery === rareEvery - 1 && rare < RARE_COUNT;
    if (isRare) rare++;
    const name = isRare ? RARE_NAME : (NAMES[Math.floor(rand() * NAMES.length)] as string);
    const dir = `${root}/${newKey()}`;
    mkdirSync(dir);
    for (const f of tpl.files) {
      write(`${dir}/${name}${f.suffix}`, f.data);
      bytes += f.data.length;
    }
    const meta = tpl.meta
      .replace(`"hash": "${tpl.hash}"`, `"hash": "${randomString(rand, HEX, 64)}"`)
      .replace(`"name": "${tpl.name}"`, `"name": "${name}"`);
    // Triton writes the group file last, in Python's json.dumps style
    const children = tpl.groupOrder.map((s) => `${JSON.stringify(name + s)}: ${JSON.stringify(`${dir}/${name}${s}`)}`);
    const group = `{"child_paths": {${children.join(", ")}}}`;
    write(`${dir}/${name}.json`, meta);
    write(`${dir}/__grp__${name}.json`, group);
    files += tpl.files.length + 2;
    bytes += Buffer.byteLength(meta) + Buffer.byteLength(group);
    if ((i + 1) % 10000 === 0) {
      process.stderr.write(
        `  generated ${i + 1}/${kernels} kernels (${((performance.now() - started) / 1000).toFixed(1)} s)\n`,
      );
    }
  }

  const others = t.others.length > 0 ? otherCount(kernels) : 0;
  for (let i = 0; i < others; i++) {
    const tpl = t.others[i % t.others.length] as OtherTemplate;
    const dir = `${root}/${newKey()}`;
    mkdirSync(dir);
    for (const f of tpl.files) {
      write(`${dir}/${f.name}`, f.data);
      files++;
      bytes += f.data.length;
    }
  }
  process.stderr.write(`  generated ${root} in ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
  return { version: GEN_VERSION, root, kernels, others, files, bytes, rareName: RARE_NAME, rareCount: rare, sparse };
}
