// Cold `index` of a vLLM cache in current vLLM's binary format, about 1 GiB,
// against reading its files once (`cat` of every file): mcm reads each unit
// whole (a CRC32 and a walk of its pickles), so reading is the floor.
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { crc32 } from "node:zlib";
import { median, type Timed, timed } from "./measure.js";
import { ms, type Row, ratio } from "./report.js";

export const VLLM_TARGET = 1.5;

export interface VllmOptions {
  /** the GKM Llama cache tarball */
  fixture: string;
  dir: string;
  db: string;
  gib: number;
  runs: number;
  mcm: (args: string[]) => Timed & { rssKb?: number };
  removeDb: (db: string) => void;
  settle: () => void;
  progress: (text: string) => void;
}

export interface VllmResult {
  /** "copies": the real cache's hash folder again and again (identical artifacts, as vLLM writes identical layers);
   * "distinct": every artifact made unique (its torch key bytes changed, its CRC32 made right again) */
  shape: "copies" | "distinct";
  bytes: number;
  files: number;
  hashes: number;
  floorMs: number[];
  coldMs: number[];
  kernels: number;
}

/** Copies of the real cache's hash folder under new hashes (each a real copy, no links) until `gib` is reached. */
function ensureCache(
  o: VllmOptions,
  shape: VllmResult["shape"],
): { root: string; bytes: number; files: number; hashes: number } {
  const root = join(o.dir, `vllm-binary-${shape}-${o.gib}g`);
  const tcc = join(root, "torch_compile_cache");
  const src = join(o.dir, "llama-binary-cache");
  if (!existsSync(src)) {
    mkdirSync(o.dir, { recursive: true });
    timed("tar", ["xzf", o.fixture, "-C", o.dir]);
  }
  const one = join(src, "torch_compile_cache", "edf531ca35");
  const size = (d: string): number =>
    readdirSync(d, { withFileTypes: true }).reduce(
      (n, e) => n + (e.isDirectory() ? size(join(d, e.name)) : statSync(join(d, e.name)).size),
      0,
    );
  const per = size(one);
  const hashes = Math.max(1, Math.round((o.gib * 2 ** 30) / per));
  if (!existsSync(join(tcc, `h${String(hashes - 1).padStart(9, "0")}`))) {
    o.progress(`[vllm] writing ${hashes} hash folders of ${(per / 2 ** 20).toFixed(0)} MiB into ${root}`);
    rmSync(root, { recursive: true, force: true });
    mkdirSync(tcc, { recursive: true });
    cpSync(join(src, "modelinfos"), join(root, "modelinfos"), { recursive: true });
    let unique = 0;
    for (let i = 0; i < hashes; i++) {
      const dest = join(tcc, `h${String(i).padStart(9, "0")}`);
      cpSync(one, dest, { recursive: true });
      if (shape === "distinct") for (const f of artifactsUnder(dest)) makeUnique(f, unique++);
    }
  }
  const files = Number(timed("sh", ["-c", `find '${root}' -type f | wc -l`], { capture: true }).stdout.trim());
  return { root, bytes: per * hashes, files, hashes };
}

function artifactsUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: "utf8" })
    .filter((f) => /(^|\/)artifact_[^/]*$/.test(f))
    .map((f) => join(dir, f));
}

/** Writes `n` into the torch key (bytes 12..15) and puts the CRC32 right: a valid artifact unlike any other. */
function makeUnique(path: string, n: number): void {
  const data = readFileSync(path);
  data.writeUInt32BE(n, 12);
  data.writeUInt32BE(crc32(data.subarray(4)), 0);
  writeFileSync(path, data);
}

export function benchVllm(o: VllmOptions, shape: VllmResult["shape"]): VllmResult {
  const c = ensureCache(o, shape);
  const floor = () => timed("sh", ["-c", `find '${c.root}' -type f -exec cat {} + > /dev/null`]).ms;
  floor(); // the page cache holds the files for both
  const r: VllmResult = {
    shape,
    bytes: c.bytes,
    files: c.files,
    hashes: c.hashes,
    floorMs: [],
    coldMs: [],
    kernels: 0,
  };
  for (let i = 0; i < o.runs; i++) {
    r.floorMs.push(floor());
    o.removeDb(o.db);
    o.settle();
    const t = o.mcm(["--db", o.db, "index", "--cache-dir", c.root]);
    r.coldMs.push(t.ms);
    r.kernels = Number(/: (\d+) kernels/.exec(t.stdout)?.[1] ?? Number.NaN);
    o.progress(
      `[vllm ${shape}] run ${i + 1}/${o.runs}: read once ${ms(r.floorMs.at(-1) ?? 0)}, cold index ${ms(t.ms)}`,
    );
  }
  return r;
}

export function vllmRows(r: VllmResult): Row[] {
  const floor = median(r.floorMs);
  const cold = median(r.coldMs);
  const label = `vLLM binary (${r.shape}), ${(r.bytes / 2 ** 30).toFixed(2)} GiB, ${r.files} files`;
  // the target is set on the cache as vLLM writes it; every artifact distinct is shown for scale
  const judged = r.shape === "copies";
  return [
    {
      size: null,
      measurement: `${label}: read every file once (cat)`,
      value: ms(floor),
      ratio: "",
      target: "",
      pass: null,
    },
    {
      size: null,
      measurement: `${label}: cold index (median of ${r.coldMs.length}) / read once`,
      value: ms(cold),
      ratio: ratio(cold / floor),
      target: judged ? `<= ${VLLM_TARGET}x` : "",
      pass: judged ? cold / floor <= VLLM_TARGET : null,
    },
    {
      size: null,
      measurement: `${label}: check: kernels indexed (16 per hash)`,
      value: String(r.kernels),
      ratio: "",
      target: `= ${16 * r.hashes}`,
      pass: r.kernels === 16 * r.hashes,
    },
  ];
}
