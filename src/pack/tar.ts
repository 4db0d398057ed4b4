// A deterministic tar.gz writer: the same entries give the same bytes. Entries
// sorted by the bytes of their names, mtime 0, uid/gid 0, no user or group
// names, modes normalised, a gzip header with no name and mtime 0. Hand-written
// ustar (pax records only for what ustar cannot hold): measured faster than a
// general-purpose tar library, and every byte is ours to fix.
import { createHash } from "node:crypto";
import { closeSync, fstatSync, openSync, readSync, renameSync, rmSync, writeSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { createGzip } from "node:zlib";
import { McmError } from "../core/errors.js";
import { compareUtf8 } from "./name-order.js";

export { compareUtf8 };

export interface TarEntry {
  /** path inside the archive, "/"-separated, no leading "/"; a trailing "/" on dirs is optional */
  name: string;
  type: "file" | "dir";
  /** expected size of `source` (checked as it is read) or of `data` */
  size?: number;
  /** absolute path to read the content from */
  source?: string;
  /** inline content, instead of `source` */
  data?: Buffer;
  /** content made piece by piece (`size` bytes in all), so a big one is never whole in memory; never a link */
  chunks?: () => Iterable<Buffer>;
  /** only the owner's exec bit counts: 0755 when set, else 0644 (dirs: always 0755) */
  mode?: number;
  /** expected sha256 (hex) of the content: the writer checks what it reads against it */
  sha256?: string;
  /** the caller's number for this entry: a link to it is named by `nameOf(id)`, so no name is held for it */
  id?: number;
}

export interface TarGzOptions {
  /** written first, in this order (an archive's manifest, so a streaming reader meets it first) */
  head?: TarEntry[];
  /** a file whose bytes an earlier entry already holds becomes a hard link to it: identical files travel once */
  linkIdentical?: boolean;
  /** gzip level, default 6 (gzip's default) */
  level?: number;
  /** `entries` already come in the archive's order (checked as they are written): an iterable need not be held whole */
  presorted?: boolean;
  /** the name of the entry with this `id` (see TarEntry.id) */
  nameOf?: (id: number) => string;
}

export interface TarGzResult {
  /** bytes of the .tar.gz written */
  bytes: number;
  /** sha256 (hex) of the .tar.gz bytes */
  sha256: string;
  /** sha256 (hex) of the uncompressed tar (an OCI layer's diff_id) */
  tarSha256: string;
  /** files written as hard links to an identical earlier file */
  linked: number;
}

const BLOCK = 512;
const CHUNK = 1 << 20;
const MAX_OCTAL_SIZE = 0o77777777777;

function octal(buf: Buffer, value: number, offset: number, width: number): void {
  buf.write(`${value.toString(8).padStart(width - 1, "0")}\0`, offset, width, "ascii");
}

/** `length path=value\n`, where length counts the whole record, its own digits included. */
function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  const bodyLen = Buffer.byteLength(body);
  let len = bodyLen + String(bodyLen).length;
  if (String(len).length + bodyLen !== len) len = bodyLen + String(len).length;
  return `${len}${body}`;
}

/** ustar splits a long name at a "/" into prefix (155 bytes) and name (100 bytes). */
function splitName(name: Buffer): { prefix: Buffer; name: Buffer } | null {
  if (name.length <= 100) return { prefix: Buffer.alloc(0), name };
  for (let i = name.length - 1; i > 0; i--) {
    if (name[i] !== 0x2f) continue;
    if (name.length - i - 1 > 100) return null;
    if (i <= 155 && name.length - i - 1 > 0) return { prefix: name.subarray(0, i), name: name.subarray(i + 1) };
  }
  return null;
}

function header(name: Buffer, prefix: Buffer, typeflag: string, mode: number, size: number): Buffer {
  const h = Buffer.alloc(BLOCK);
  name.copy(h, 0, 0, Math.min(100, name.length));
  octal(h, mode, 100, 8);
  octal(h, 0, 108, 8); // uid
  octal(h, 0, 116, 8); // gid
  octal(h, size, 124, 12);
  octal(h, 0, 136, 12); // mtime
  h.write("        ", 148, 8, "ascii");
  h.write(typeflag, 156, 1, "ascii");
  h.write("ustar\u000000", 257, 8, "ascii");
  octal(h, 0, 329, 8); // devmajor
  octal(h, 0, 337, 8); // devminor
  prefix.copy(h, 345, 0, Math.min(155, prefix.length));
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += h[i] as number;
  h.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148, 8, "ascii");
  return h;
}

function* chain<T>(a: Iterable<T>, b: Iterable<T>): Generator<T> {
  yield* a;
  yield* b;
}

const padding = (size: number) => (BLOCK - (size % BLOCK)) % BLOCK;

/** The header blocks of one entry: a pax header first when ustar cannot hold the name, link or size. */
function entryHeader(name: string, type: "file" | "dir", size: number, mode: number, linkTo?: string): Buffer {
  const full = type === "dir" && !name.endsWith("/") ? `${name}/` : name;
  const bytes = Buffer.from(full, "utf8");
  const split = splitName(bytes);
  const records: string[] = [];
  if (!split) records.push(paxRecord("path", full));
  if (size > MAX_OCTAL_SIZE) records.push(paxRecord("size", String(size)));
  const link = linkTo === undefined ? undefined : Buffer.from(linkTo, "utf8");
  if (link && link.length > 100) records.push(paxRecord("linkpath", linkTo as string));
  // the pax record carries what ustar cannot: a truncated name, a size of 0
  const ustar = split ?? { prefix: Buffer.alloc(0), name: bytes.subarray(0, 100) };
  const flag = link ? "1" : type === "dir" ? "5" : "0";
  const own = header(ustar.name, ustar.prefix, flag, mode, size > MAX_OCTAL_SIZE ? 0 : size);
  if (link) {
    link.copy(own, 157, 0, Math.min(100, link.length));
    let sum = 0;
    own.write("        ", 148, 8, "ascii");
    for (let i = 0; i < BLOCK; i++) sum += own[i] as number;
    own.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148, 8, "ascii");
  }
  if (records.length === 0) return own;
  const pax = Buffer.from(records.join(""), "utf8");
  const paxName = Buffer.from(`PaxHeader/${basename(full)}`.slice(0, 100), "utf8").subarray(0, 100);
  return Buffer.concat([
    header(paxName, Buffer.alloc(0), "x", 0o644, pax.length),
    pax,
    Buffer.alloc(padding(pax.length)),
    own,
  ]);
}

function normalise(e: TarEntry): { name: string; mode: number } {
  let name = e.name.replace(/^\.\//, "").replace(/\/+$/, "");
  if (name === "" || name.startsWith("/") || name.split("/").some((p) => p === ".." || p === "." || p === "")) {
    throw new McmError(`bad archive entry name: ${JSON.stringify(e.name)}`);
  }
  if (e.type === "dir") name = `${name}/`;
  const mode = e.type === "dir" ? 0o755 : (e.mode ?? 0) & 0o100 ? 0o755 : 0o644;
  return { name, mode };
}

type Normal = { e: TarEntry; name: string; mode: number };

/** Entries sorted by the UTF-8 bytes of their (normalised) names. */
function sorted(entries: TarEntry[]): Normal[] {
  const list = entries.map((e) => ({ e, ...normalise(e) }));
  list.sort((a, b) => compareUtf8(a.name, b.name));
  for (let i = 1; i < list.length; i++) {
    if (compareUtf8((list[i - 1] as Normal).name, (list[i] as Normal).name) === 0) {
      throw new McmError(`archive entry twice: ${(list[i] as Normal).name}`);
    }
  }
  return list;
}

/** Entries the caller already sorted, checked one by one against the one before. */
function* inOrder(entries: Iterable<TarEntry>): Generator<Normal> {
  let last: string | undefined;
  for (const e of entries) {
    const n = { e, ...normalise(e) };
    const c = last === undefined ? -1 : compareUtf8(last, n.name);
    if (c === 0) throw new McmError(`archive entry twice: ${n.name}`);
    if (c > 0) throw new McmError(`archive entry out of order: ${n.name}`);
    last = n.name;
    yield n;
  }
}

/** Reads a whole file, checking it still has the size and content the caller expects. */
function readSource(path: string, e: TarEntry): Buffer {
  const fd = openSync(path, "r");
  try {
    const size = fstatSync(fd).size;
    if (e.size !== undefined && size !== e.size) {
      throw new McmError(`${path} changed while it was archived (size ${e.size} -> ${size}); try again`);
    }
    const buf = Buffer.allocUnsafe(size);
    let off = 0;
    while (off < size) {
      const n = readSync(fd, buf, off, size - off, off);
      if (n === 0) throw new McmError(`${path} shrank while it was archived; try again`);
      off += n;
    }
    return buf;
  } finally {
    closeSync(fd);
  }
}

/**
 * Writes `entries` (sorted; `opts.head` first) as a deterministic .tar.gz at
 * `outPath`, through a temp file in the same folder and a rename: an
 * interrupted write never leaves a half archive at `outPath`.
 */
export async function writeTarGz(
  entries: TarEntry[] | Iterable<TarEntry>,
  outPath: string,
  opts: TarGzOptions = {},
): Promise<TarGzResult> {
  const head = (opts.head ?? []).map((e) => ({ e, ...normalise(e) }));
  const body = opts.presorted || !Array.isArray(entries) ? inOrder(entries) : sorted(entries);
  const tmp = join(dirname(outPath), `.${basename(outPath)}.mcm-tmp-${process.pid}`);
  const fd = openSync(tmp, "w", 0o644);
  const hash = createHash("sha256");
  const tarHash = createHash("sha256");
  let bytes = 0;
  let linked = 0;
  // the first entry of each content, by its binary sha256: its id where it has one, else its name
  const byContent = new Map<string, string | number>();
  const linkName = (id: number) => {
    if (!opts.nameOf) throw new McmError("archive entries have ids but the writer was given no nameOf");
    return opts.nameOf(id);
  };
  let first = true;
  const gz = createGzip({ level: opts.level ?? 6 });
  const done = new Promise<void>((resolve, reject) => {
    gz.on("data", (chunk: Buffer) => {
      if (first) {
        // zlib writes the OS it was built for at byte 9: fixed to 3 (Unix) so every platform writes the same bytes
        chunk[9] = 3;
        first = false;
      }
      hash.update(chunk);
      let off = 0;
      while (off < chunk.length) off += writeSync(fd, chunk, off, chunk.length - off);
      bytes += chunk.length;
    });
    gz.on("end", resolve);
    gz.on("error", reject);
  });
  let failed: unknown;
  try {
    let parts: Buffer[] = [];
    let pending = 0;
    const flush = async () => {
      if (pending === 0) return;
      const buf = parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts, pending);
      parts = [];
      pending = 0;
      tarHash.update(buf);
      if (!gz.write(buf)) await new Promise((r) => gz.once("drain", r));
    };
    const push = (b: Buffer) => {
      parts.push(b);
      pending += b.length;
    };
    let i = -1;
    for (const { e, name, mode } of chain(head, body)) {
      i++;
      if (e.type === "dir") {
        push(entryHeader(name, "dir", 0, mode));
      } else if (e.chunks) {
        if (e.size === undefined) throw new McmError(`archive entry ${name} has chunks but no size`);
        push(entryHeader(name, "file", e.size, mode));
        let n = 0;
        for (const c of e.chunks()) {
          n += c.length;
          push(c);
          if (pending >= CHUNK) await flush();
        }
        if (n !== e.size) throw new McmError(`archive entry ${name}: ${n} bytes, expected ${e.size}`);
        const pad = padding(n);
        if (pad) push(Buffer.alloc(pad));
      } else {
        const data = e.data ?? (e.source !== undefined ? readSource(e.source, e) : undefined);
        if (data === undefined) throw new McmError(`archive entry ${name} has neither data nor source`);
        if (e.size !== undefined && data.length !== e.size) {
          throw new McmError(`archive entry ${name}: ${data.length} bytes, expected ${e.size}`);
        }
        let key = "";
        if (e.sha256 !== undefined || opts.linkIdentical) {
          const digest = createHash("sha256").update(data).digest();
          if (e.sha256 !== undefined && digest.toString("hex") !== e.sha256) {
            throw new McmError(`${e.source ?? name} changed while it was archived; try again`);
          }
          key = digest.toString("latin1"); // 32 one-byte characters, not 64
        }
        const twin = opts.linkIdentical && data.length > 0 ? byContent.get(key) : undefined;
        if (twin !== undefined) {
          push(entryHeader(name, "file", 0, mode, typeof twin === "number" ? linkName(twin) : twin));
          linked++;
          if (pending >= CHUNK) await flush();
          continue;
        }
        // the head (a manifest) is not a cache file: never a link target
        if (opts.linkIdentical && data.length > 0 && i >= head.length) byContent.set(key, e.id ?? name);
        push(entryHeader(name, "file", data.length, mode));
        push(data);
        const pad = padding(data.length);
        if (pad) push(Buffer.alloc(pad));
      }
      if (pending >= CHUNK) await flush();
    }
    push(Buffer.alloc(BLOCK * 2)); // end of archive
    await flush();
    gz.end();
    await done;
  } catch (e) {
    failed = e;
    gz.destroy();
  } finally {
    closeSync(fd);
  }
  if (failed !== undefined) {
    rmSync(tmp, { force: true });
    throw failed;
  }
  renameSync(tmp, outPath);
  return { bytes, sha256: hash.digest("hex"), tarSha256: tarHash.digest("hex"), linked };
}
