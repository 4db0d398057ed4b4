// A small deterministic tar.gz writer with the archive module's TarEntry shape,
// standing in until src/pack/tar.ts (branch `archive`) lands; then swap the
// import in layer.ts. Sorted names, mtime 0, uid/gid 0, 0644/0755, pax for long names.
import { createHash } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createGzip } from "node:zlib";
import { McmError } from "../../core/errors.js";

export interface TarEntry {
  name: string;
  type: "file" | "dir";
  size?: number;
  source?: string;
  data?: Buffer;
  mode?: number;
}

const BLOCK = 512;

function field(buf: Buffer, text: string | Buffer, offset: number, width: number): void {
  Buffer.from(text).copy(buf, offset, 0, width);
}

function octal(buf: Buffer, n: number, offset: number, width: number): void {
  field(buf, `${n.toString(8).padStart(width - 1, "0")}\0`, offset, width);
}

function rawHeader(name: Buffer, prefix: Buffer, typeflag: string, size: number, mode: number): Buffer {
  const h = Buffer.alloc(BLOCK);
  field(h, name, 0, 100);
  octal(h, mode, 100, 8);
  octal(h, 0, 108, 8);
  octal(h, 0, 116, 8);
  octal(h, size, 124, 12);
  octal(h, 0, 136, 12);
  h.fill(" ", 148, 156);
  field(h, typeflag, 156, 1);
  field(h, "ustar\0", 257, 6);
  field(h, "00", 263, 2);
  field(h, prefix, 345, 155);
  let sum = 0;
  for (const b of h) sum += b;
  field(h, `${sum.toString(8).padStart(6, "0")}\0 `, 148, 8);
  return h;
}

function pad(n: number): Buffer {
  return Buffer.alloc((BLOCK - (n % BLOCK)) % BLOCK);
}

function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  let len = Buffer.byteLength(body);
  len += String(len + String(len).length).length;
  return `${len}${body}`;
}

/** ustar header, with a pax header before it when the name does not fit name+prefix. */
function headers(e: TarEntry, size: number): Buffer[] {
  const name = e.type === "dir" && !e.name.endsWith("/") ? `${e.name}/` : e.name;
  const mode = e.type === "dir" || (e.mode ?? 0) & 0o100 ? 0o755 : 0o644;
  const flag = e.type === "dir" ? "5" : "0";
  const full = Buffer.from(name);
  if (full.length <= 100) return [rawHeader(full, Buffer.alloc(0), flag, size, mode)];
  for (let i = full.lastIndexOf(0x2f, full.length - 2); i > 0; i = full.lastIndexOf(0x2f, i - 1)) {
    if (i <= 155 && full.length - i - 1 <= 100) {
      return [rawHeader(full.subarray(i + 1), full.subarray(0, i), flag, size, mode)];
    }
  }
  const pax = Buffer.from(paxRecord("path", name));
  const short = Buffer.from(`PaxHeaders/${name.slice(-80)}`);
  return [
    rawHeader(short, Buffer.alloc(0), "x", pax.length, 0o644),
    pax,
    pad(pax.length),
    rawHeader(full.subarray(0, 100), Buffer.alloc(0), flag, size, mode),
  ];
}

async function* tarStream(entries: TarEntry[]): AsyncGenerator<Buffer> {
  for (const e of entries) {
    if (e.type === "dir") {
      yield* headers(e, 0);
      continue;
    }
    const size = e.data?.length ?? (e.size as number);
    yield* headers(e, size);
    let n = 0;
    if (e.data) {
      yield e.data;
      n = e.data.length;
    } else {
      for await (const c of createReadStream(e.source as string)) {
        n += (c as Buffer).length;
        if (n > size) throw new McmError(`${e.source} grew while it was packed`);
        yield c as Buffer;
      }
      if (n !== size) throw new McmError(`${e.source} changed size while it was packed`);
    }
    yield pad(n);
  }
  yield Buffer.alloc(BLOCK * 2);
}

const byBytes = (a: TarEntry, b: TarEntry) => Buffer.compare(Buffer.from(a.name), Buffer.from(b.name));

export async function writeTarGz(entries: TarEntry[], outPath: string): Promise<{ bytes: number; sha256: string }> {
  const hash = createHash("sha256");
  let bytes = 0;
  const gzip = createGzip({ level: 6 });
  gzip.on("data", (c: Buffer) => {
    hash.update(c);
    bytes += c.length;
  });
  await pipeline(Readable.from(tarStream([...entries].sort(byBytes))), gzip, createWriteStream(outPath));
  return { bytes, sha256: hash.digest("hex") };
}
