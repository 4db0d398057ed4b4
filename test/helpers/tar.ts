// Crafted tar archives for the importer's refusals: raw ustar headers with any
// type flag, name or link target, which no well-behaved writer would produce.
import { writeFileSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { readTar } from "../../src/pack/tar-read.js";

export interface RawEntry {
  name: string;
  /** '0' file, '5' dir, '1' hard link, '2' symlink, '3' char device, '6' fifo, ... */
  flag?: string;
  data?: Buffer | string;
  linkname?: string;
  /** the size field, when it should lie */
  size?: number;
  mode?: number;
}

function header(e: RawEntry, size: number): Buffer {
  const h = Buffer.alloc(512);
  let name = Buffer.from(e.name);
  if (name.length > 100) {
    // ustar: the part before a "/" goes to the 155-byte prefix field
    const cut = e.name.lastIndexOf("/", e.name.length - 2);
    if (cut < 0 || cut > 155 || name.length - cut - 1 > 100) throw new Error(`name too long for ustar: ${e.name}`);
    Buffer.from(e.name.slice(0, cut)).copy(h, 345);
    name = Buffer.from(e.name.slice(cut + 1));
  }
  name.copy(h, 0);
  const oct = (v: number, off: number, w: number) =>
    h.write(`${v.toString(8).padStart(w - 1, "0")}\0`, off, w, "ascii");
  oct(e.mode ?? (e.flag === "5" ? 0o755 : 0o644), 100, 8);
  oct(0, 108, 8);
  oct(0, 116, 8);
  oct(size, 124, 12);
  oct(0, 136, 12);
  h.write("        ", 148, 8, "ascii");
  h.write(e.flag ?? "0", 156, 1, "ascii");
  if (e.linkname) h.write(e.linkname, 157, 100, "utf8");
  h.write("ustar\u000000", 257, 8, "ascii");
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += h[i] as number;
  h.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148, 8, "ascii");
  return h;
}

/** A tar archive of `entries`, exactly as given. */
export function rawTar(entries: RawEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    const data = Buffer.from(e.data ?? "");
    parts.push(header(e, e.size ?? data.length), data, Buffer.alloc((512 - (data.length % 512)) % 512));
  }
  parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}

export function writeRawTarGz(path: string, entries: RawEntry[]): string {
  writeFileSync(path, gzipSync(rawTar(entries)));
  return path;
}

/** Every entry of an archive, content included (for small test archives only). */
export async function readEntries(path: string): Promise<RawEntry[]> {
  const out: RawEntry[] = [];
  await readTar(path, (h) => {
    const parts: Buffer[] = [];
    const flag = { file: "0", dir: "5", hardlink: "1", symlink: "2", device: "3", fifo: "6", other: "?" }[h.type];
    return (c) => {
      if (c) parts.push(Buffer.from(c));
      else out.push({ name: h.name, flag, data: Buffer.concat(parts), linkname: h.linkname, mode: h.mode });
    };
  });
  return out;
}

/**
 * A gzip'd tar of one file of `size` zero bytes at `name`, streamed (a bomb:
 * a few MB on disk), then an end of archive.
 */
export async function writeZeroBombTarGz(path: string, name: string, size: number): Promise<string> {
  const { createWriteStream } = await import("node:fs");
  const { createGzip, constants } = await import("node:zlib");
  const { pipeline } = await import("node:stream/promises");
  const chunk = Buffer.alloc(1 << 20);
  async function* body() {
    yield header({ name }, size);
    for (let left = size; left > 0; left -= chunk.length) yield left >= chunk.length ? chunk : chunk.subarray(0, left);
    yield Buffer.alloc(((512 - (size % 512)) % 512) + 1024);
  }
  await pipeline(body(), createGzip({ level: constants.Z_BEST_SPEED }), createWriteStream(path));
  return path;
}
