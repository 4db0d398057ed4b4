// A streaming tar reader: ustar, pax ('x', 'g') and GNU long names ('L', 'K'),
// gzip or not. It reports every entry as it stands in the archive; what is safe
// to extract is decided by the importer.
import { closeSync, createReadStream, openSync, readSync } from "node:fs";
import { createGunzip } from "node:zlib";
import { McmError } from "../core/errors.js";

export type TarEntryType = "file" | "dir" | "hardlink" | "symlink" | "device" | "fifo" | "other";

export interface TarHeader {
  /** the name as written (pax or GNU long names applied) */
  name: string;
  type: TarEntryType;
  /** the raw type flag, for messages */
  flag: string;
  size: number;
  mode: number;
  linkname: string;
}

/** Gets each entry's header, then its content in chunks (files only), then null. */
export type EntrySink = (chunk: Buffer | null) => void;
export type OnEntry = (h: TarHeader) => EntrySink | undefined;

const BLOCK = 512;

function cstring(buf: Buffer, off: number, len: number): string {
  const end = buf.indexOf(0, off);
  return buf.toString("utf8", off, end < 0 || end > off + len ? off + len : end);
}

function number(buf: Buffer, off: number, len: number): number {
  if ((buf[off] as number) & 0x80) {
    // GNU base-256 for values octal cannot hold
    let v = 0;
    for (let i = off + 1; i < off + len; i++) v = v * 256 + (buf[i] as number);
    return v;
  }
  const s = cstring(buf, off, len).trim();
  return s === "" ? 0 : Number.parseInt(s, 8);
}

function checksumOk(h: Buffer): boolean {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : (h[i] as number);
  return sum === number(h, 148, 8);
}

const TYPES: Record<string, TarEntryType> = {
  "0": "file",
  "\0": "file",
  "7": "file",
  "5": "dir",
  "1": "hardlink",
  "2": "symlink",
  "3": "device",
  "4": "device",
  "6": "fifo",
};

function parsePax(buf: Buffer, into: Record<string, string>): void {
  let i = 0;
  while (i < buf.length) {
    if (buf[i] === 0) break; // some writers pad the block with NULs
    const space = buf.indexOf(0x20, i);
    const len = Number.parseInt(buf.toString("ascii", i, space), 10);
    if (space < 0 || !(len > 0) || i + len > buf.length) throw new McmError("not a valid tar archive: bad pax header");
    const kv = buf.toString("utf8", space + 1, i + len - 1);
    const eq = kv.indexOf("=");
    into[kv.slice(0, eq)] = kv.slice(eq + 1);
    i += len;
  }
}

/** A push parser: feed it chunks of the (uncompressed) tar stream. */
class TarParser {
  private buf: Buffer = Buffer.alloc(0);
  /** bytes of content still to come for the current entry, then its padding */
  private remaining = 0;
  private pad = 0;
  private sink: EntrySink | undefined;
  /** content collected for pax / GNU long-name entries */
  private meta: { kind: string; parts: Buffer[] } | undefined;
  private pax: Record<string, string> = {};
  private global: Record<string, string> = {};
  private longName: string | undefined;
  private longLink: string | undefined;
  private ended = false;
  private zeroBlocks = 0;

  constructor(private readonly onEntry: OnEntry) {}

  push(chunk: Buffer): void {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    let off = 0;
    while (!this.ended) {
      if (this.remaining > 0) {
        const n = Math.min(this.remaining, this.buf.length - off);
        if (n === 0) break;
        const part = this.buf.subarray(off, off + n);
        if (this.meta) this.meta.parts.push(Buffer.from(part));
        else this.sink?.(part);
        this.remaining -= n;
        off += n;
        if (this.remaining === 0) this.finishEntry();
        continue;
      }
      if (this.pad > 0) {
        const n = Math.min(this.pad, this.buf.length - off);
        if (n === 0) break;
        this.pad -= n;
        off += n;
        continue;
      }
      if (this.buf.length - off < BLOCK) break;
      const h = this.buf.subarray(off, off + BLOCK);
      off += BLOCK;
      this.header(h);
    }
    this.buf = this.buf.subarray(off);
  }

  /** Throws when the stream stopped inside an entry (a missing end-of-archive block is forgiven). */
  end(): void {
    if (this.ended) return;
    if (this.remaining > 0 || this.meta || this.buf.some((b) => b !== 0)) {
      throw new McmError("the archive is truncated (it ends inside an entry)");
    }
  }

  private header(h: Buffer): void {
    if (h.every((b) => b === 0)) {
      if (++this.zeroBlocks >= 2) this.ended = true;
      return;
    }
    this.zeroBlocks = 0;
    if (!checksumOk(h)) throw new McmError("not a valid tar archive (bad header checksum)");
    const flag = String.fromCharCode(h[156] as number);
    let size = number(h, 124, 12);
    const magic = h.toString("latin1", 257, 263);
    let name = cstring(h, 0, 100);
    if (magic.startsWith("ustar")) {
      const prefix = cstring(h, 345, 155);
      if (prefix) name = `${prefix}/${name}`;
    }
    if (flag === "x" || flag === "g" || flag === "L" || flag === "K") {
      this.meta = { kind: flag, parts: [] };
      this.remaining = size;
      this.pad = (BLOCK - (size % BLOCK)) % BLOCK;
      if (size === 0) this.finishEntry();
      return;
    }
    const pax = { ...this.global, ...this.pax };
    if (pax.size !== undefined) size = Number(pax.size);
    const header: TarHeader = {
      name: pax.path ?? this.longName ?? name,
      type: TYPES[flag] ?? "other",
      flag,
      // a link or a folder carries no content, whatever its size field says
      size: flag === "1" || flag === "2" || flag === "5" ? 0 : size,
      mode: number(h, 100, 8),
      linkname: pax.linkpath ?? this.longLink ?? cstring(h, 157, 100),
    };
    this.pax = {};
    this.longName = undefined;
    this.longLink = undefined;
    this.sink = this.onEntry(header);
    this.remaining = header.size;
    this.pad = (BLOCK - (header.size % BLOCK)) % BLOCK;
    if (header.size === 0) this.finishEntry();
  }

  private finishEntry(): void {
    if (this.meta) {
      const body = Buffer.concat(this.meta.parts);
      const kind = this.meta.kind;
      this.meta = undefined;
      if (kind === "x") parsePax(body, this.pax);
      else if (kind === "g") parsePax(body, this.global);
      else if (kind === "L") this.longName = cstring(body, 0, body.length);
      else this.longLink = cstring(body, 0, body.length);
      return;
    }
    this.sink?.(null);
    this.sink = undefined;
  }
}

function isGzip(path: string): boolean {
  const fd = openSync(path, "r");
  try {
    const b = Buffer.alloc(2);
    return readSync(fd, b, 0, 2, 0) === 2 && b[0] === 0x1f && b[1] === 0x8b;
  } finally {
    closeSync(fd);
  }
}

/**
 * Reads the archive at `path` (gzip-compressed or not), calling `onEntry` for
 * each entry; stops early once `signal.stop` is set.
 */
export async function readTar(
  path: string,
  onEntry: OnEntry,
  signal?: { stop: boolean },
  /** past this many bytes (decompressed), the stream is refused */
  maxStreamBytes = Number.POSITIVE_INFINITY,
): Promise<void> {
  let gz: boolean;
  try {
    gz = isGzip(path);
  } catch (e) {
    throw new McmError(`cannot read ${path}: ${(e as Error).message}`);
  }
  const parser = new TarParser(onEntry);
  const file = createReadStream(path, { highWaterMark: 1 << 20 });
  const source: NodeJS.ReadableStream & { destroy(e?: Error): void } = gz
    ? file.pipe(createGunzip({ chunkSize: 1 << 20 }))
    : file;
  if (gz) file.on("error", (e) => source.destroy(e));
  try {
    let read = 0;
    for await (const chunk of source) {
      read += (chunk as Buffer).length;
      if (read > maxStreamBytes)
        throw new McmError(`${path}: expands past ${maxStreamBytes} bytes; not an archive mcm reads`);
      parser.push(chunk as Buffer);
      if (signal?.stop) return;
    }
  } catch (e) {
    if (e instanceof McmError) throw e;
    throw new McmError(`cannot read ${path}: ${(e as Error).message}`);
  } finally {
    file.destroy();
    source.destroy();
  }
  parser.end();
}
