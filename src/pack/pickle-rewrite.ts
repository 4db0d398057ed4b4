// Changes text values inside a pickle at the opcode level, executing nothing:
// each opcode is copied byte for byte except the string opcodes whose value
// `change` replaces. Memo indices stay valid (the opcodes keep their places),
// and protocol-4 FRAME lengths are recomputed, so Python's unpickler reads the
// result as the same object graph with only those strings changed. Nested
// pickles (inside byte strings) are left alone: they are bytes here.
import { PickleError } from "../scan/pickle-values.js";

/** Opcodes whose argument is a fixed number of bytes. */
const FIXED: Record<number, number> = {
  128: 1, // PROTO
  75: 1, // BININT1
  77: 2, // BININT2
  74: 4, // BININT
  71: 8, // BINFLOAT
  113: 1, // BINPUT
  114: 4, // LONG_BINPUT
  104: 1, // BINGET
  106: 4, // LONG_BINGET
  130: 1, // EXT1
  131: 2, // EXT2
  132: 4, // EXT4
};
/** Opcodes followed by a length of this many bytes, then that many bytes. */
const COUNTED: Record<number, number> = {
  138: 1, // LONG1
  139: 4, // LONG4
  85: 1, // SHORT_BINSTRING
  84: 4, // BINSTRING
  67: 1, // SHORT_BINBYTES
  66: 4, // BINBYTES
  142: 8, // BINBYTES8
  150: 8, // BYTEARRAY8
};
/** Text opcodes: their length prefix size. */
const UNICODE: Record<number, number> = { 140: 1, 88: 4, 141: 8 };
/** Opcodes whose argument is newline-terminated lines (protocol 0). */
const LINES: Record<number, number> = {
  73: 1, // INT
  76: 1, // LONG
  70: 1, // FLOAT
  83: 1, // STRING
  86: 1, // UNICODE
  112: 1, // PUT
  103: 1, // GET
  80: 1, // PERSID
  99: 2, // GLOBAL
  105: 2, // INST
};
/** Opcodes without an argument. */
const BARE = new Set([
  0x28, 0x2e, 0x30, 0x31, 0x32, 0x4e, 0x88, 0x89, 0x29, 0x85, 0x86, 0x87, 0x74, 0x6c, 0x5d, 0x61, 0x65, 0x7d, 0x64,
  0x73, 0x75, 0x8f, 0x90, 0x91, 0x94, 0x93, 0x52, 0x81, 0x92, 0x6f, 0x62, 0x51, 0x97, 0x98,
]);
const FRAME = 0x95;
const STOP = 0x2e;

const utf8 = new TextDecoder("utf-8", { fatal: true });

export interface PickleRewrite {
  data: Uint8Array;
  /** strings replaced */
  changed: number;
}

/** Chunks of output, joined once at the end. */
class Out {
  parts: Uint8Array[] = [];
  length = 0;
  push(b: Uint8Array) {
    this.parts.push(b);
    this.length += b.length;
  }
}

function lengthBytes(n: number, size: number): Uint8Array {
  const b = new Uint8Array(size);
  let v = n;
  for (let i = 0; i < size; i++) {
    b[i] = v % 256;
    v = Math.floor(v / 256);
  }
  return b;
}

function readLength(data: Uint8Array, at: number, size: number): number {
  if (at + size > data.length) throw new PickleError(`truncated at byte ${at}`);
  let v = 0;
  for (let k = size - 1; k >= 0; k--) v = v * 256 + (data[at + k] as number);
  return v;
}

/** The text opcode for `s`, shortest form. */
function encodeText(s: string): Uint8Array {
  const body = new TextEncoder().encode(s);
  const [op, size] = body.length < 256 ? [0x8c, 1] : body.length < 2 ** 32 ? [0x58, 4] : [0x8d, 8];
  const out = new Uint8Array(1 + size + body.length);
  out[0] = op;
  out.set(lengthBytes(body.length, size), 1);
  out.set(body, 1 + size);
  return out;
}

/**
 * Rewrites one pickle (the whole of `data`). `change` sees every string the
 * binary text opcodes hold and returns its replacement, or undefined to keep
 * it. Throws PickleError on anything it cannot walk (then change nothing).
 */
export function rewritePickleStrings(data: Uint8Array, change: (s: string) => string | undefined): PickleRewrite {
  const out = new Out();
  let changed = 0;
  let p = 0;
  // the frame being copied: where its length goes in the output, where it ends in the input
  let frame: { slot: Uint8Array; outStart: number; end: number } | null = null;
  const closeFrame = () => {
    if (!frame) return;
    if (p !== frame.end) throw new PickleError(`an opcode crosses the frame end at byte ${frame.end}`);
    frame.slot.set(lengthBytes(out.length - frame.outStart, 8));
    frame = null;
  };
  let stopped = false;
  while (p < data.length && !stopped) {
    if (frame && p >= frame.end) closeFrame();
    const op = data[p] as number;
    const start = p;
    p++;
    if (op === FRAME) {
      if (frame) throw new PickleError(`a frame inside a frame at byte ${start}`);
      const len = readLength(data, p, 8);
      p += 8;
      if (p + len > data.length) throw new PickleError(`frame beyond the data at byte ${start}`);
      const slot = new Uint8Array(8);
      out.push(Uint8Array.of(FRAME));
      out.push(slot);
      frame = { slot, outStart: out.length, end: p + len };
      continue;
    }
    if (op in UNICODE) {
      const size = UNICODE[op] as number;
      const len = readLength(data, p, size);
      p += size;
      if (p + len > data.length) throw new PickleError(`truncated string at byte ${start}`);
      const body = data.subarray(p, p + len);
      p += len;
      let text: string | undefined;
      try {
        text = utf8.decode(body);
      } catch {
        text = undefined; // surrogates pickle writes as invalid UTF-8: never a path
      }
      const next = text === undefined ? undefined : change(text);
      if (next !== undefined && next !== text) {
        out.push(encodeText(next));
        changed++;
      } else out.push(data.subarray(start, p));
      continue;
    }
    if (op in FIXED) p += FIXED[op] as number;
    else if (op in COUNTED) {
      const size = COUNTED[op] as number;
      p += size + readLength(data, p, size);
    } else if (op in LINES) {
      for (let n = LINES[op] as number; n > 0; n--) {
        const nl = data.indexOf(0x0a, p);
        if (nl < 0) throw new PickleError(`unterminated line at byte ${start}`);
        p = nl + 1;
      }
    } else if (BARE.has(op)) {
      if (op === STOP) stopped = true;
    } else throw new PickleError(`unknown opcode 0x${op.toString(16)} at byte ${start}`);
    if (p > data.length) throw new PickleError(`truncated at byte ${start}`);
    out.push(data.subarray(start, p));
  }
  if (!stopped) throw new PickleError("no STOP opcode");
  if (frame) closeFrame();
  // anything after STOP is not part of the pickle: kept as it was
  if (p < data.length) out.push(data.subarray(p));
  if (changed === 0) return { data, changed };
  const joined = new Uint8Array(out.length);
  let at = 0;
  for (const part of out.parts) {
    joined.set(part, at);
    at += part.length;
  }
  return { data: joined, changed };
}
