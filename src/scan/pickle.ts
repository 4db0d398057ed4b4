// A reader of Python's pickle format that executes nothing: it decodes the
// opcodes into plain values, and every object that pickle would build by
// calling a class is kept as a PickledObject (the class's name, its
// arguments, its state). PyTorch's cache artifacts are pickles; this reads
// what they hold without Python, and without trusting them. Big byte strings
// (a cubin, an IR file) are not read: they stay ranges of the source, and
// big text becomes LONG_TEXT, so a reader of files skips most of their bytes.
import { type ByteRange, type ByteSource, memorySource } from "./byte-source.js";
import {
  isObject,
  type LazyBytes,
  type PickledObject,
  PickleError,
  type PickleValue,
  stateMap,
} from "./pickle-values.js";

export * from "./pickle-values.js";

/** Text longer than this is not decoded (names and keys are short; generated code is not needed). */
const MAX_TEXT = 4096;
/** Byte strings up to this size are read; longer ones stay ranges (read on demand: copyOf). */
export const MAX_EAGER_BYTES = 256;
export const LONG_TEXT = "\u0000long text";

export interface PickleLimits {
  /** most opcodes to run */
  maxOps: number;
  /** most values on the stack and in the memo together */
  maxValues: number;
  /** deepest nesting of MARKs */
  maxMarks: number;
}

export const DEFAULT_PICKLE_LIMITS: PickleLimits = { maxOps: 20_000_000, maxValues: 5_000_000, maxMarks: 10_000 };

const MARK = Symbol("mark");
type Slot = PickleValue | typeof MARK;

const utf8 = new TextDecoder("utf-8", { fatal: false });
const latin1 = new TextDecoder("latin1");

/** Decodes one pickle: all of `data`, or `range` of `src`. */
export function readPickle(
  data: Uint8Array | ByteSource,
  range?: ByteRange,
  limits: PickleLimits = DEFAULT_PICKLE_LIMITS,
): PickleValue {
  const src = data instanceof Uint8Array ? memorySource(data) : data;
  const start = range?.offset ?? 0;
  const end = range ? range.offset + range.length : src.length;
  if (end > src.length) throw new PickleError(`truncated: ${end - src.length} bytes missing`);
  // the window of the source that holds p
  let buf: Uint8Array = new Uint8Array(0);
  let base = start;
  let p = start;
  const stack: Slot[] = [];
  const marks: number[] = [];
  // MEMOIZE numbers slots 0, 1, 2, ...: an array (BINPUT may name any slot: a Map takes those)
  const memo: PickleValue[] = [];
  const sparse = new Map<number, PickleValue>();
  let ops = 0;

  /** Makes the window hold [p, p + n); returns the index of p in it. */
  const need = (n: number): number => {
    if (n < 0 || p + n > end) throw new PickleError(`truncated at byte ${p - start}`);
    if (p < base || p + n > base + buf.length) {
      // small windows: after a skipped byte string, only the next few opcodes are wanted
      buf = src.view(p, Math.min(end - p, Math.max(n, 1024)));
      base = p;
      if (buf.length < n) throw new PickleError(`truncated at byte ${p - start}`);
    }
    return p - base;
  };
  const u8 = () => {
    const i = need(1);
    p++;
    return buf[i] as number;
  };
  const le = (n: number) => {
    const i = need(n);
    p += n;
    let v = 0;
    for (let k = n - 1; k >= 0; k--) v = v * 256 + (buf[i + k] as number);
    return v;
  };
  const u16 = () => le(2);
  const u32 = () => le(4);
  const u64 = () => {
    const v = le(8);
    if (v > end - p) throw new PickleError(`length ${v} beyond the data at byte ${p - start}`);
    return v;
  };
  /** n bytes read (a copy: the window moves on) */
  const take = (n: number) => {
    const i = need(n);
    p += n;
    return new Uint8Array(buf.subarray(i, i + n)); // a copy (Buffer.slice would be a view)
  };
  /** a byte string: read when small, else its range, skipped */
  const bytes = (n: number): Uint8Array | LazyBytes => {
    if (n <= MAX_EAGER_BYTES) return take(n);
    if (n > end - p) throw new PickleError(`truncated at byte ${p - start}`);
    const r: LazyBytes = { kind: "bytes", offset: p, length: n };
    p += n;
    return r;
  };
  const text = (n: number): string => {
    if (n <= MAX_TEXT) {
      const i = need(n);
      p += n;
      if (n <= 64) {
        // most names are short ASCII: built directly, without a decoder call
        let out = "";
        for (let k = i; k < i + n; k++) {
          const c = buf[k] as number;
          if (c >= 0x80) return utf8.decode(buf.subarray(i, i + n));
          out += String.fromCharCode(c);
        }
        return out;
      }
      return utf8.decode(buf.subarray(i, i + n));
    }
    if (n > end - p) throw new PickleError(`truncated at byte ${p - start}`);
    p += n;
    return LONG_TEXT;
  };
  const line = () => {
    let out = "";
    for (;;) {
      const i = need(1);
      const nl = buf.indexOf(0x0a, i);
      if (nl >= 0) {
        out += latin1.decode(buf.subarray(i, nl));
        p = base + nl + 1;
        return out;
      }
      if (out.length > MAX_TEXT) throw new PickleError(`line too long at byte ${p - start}`);
      out += latin1.decode(buf.subarray(i));
      p = base + buf.length;
    }
  };
  const push = (v: PickleValue) => {
    if (stack.length + memo.length + sparse.size >= limits.maxValues) throw new PickleError("too many values");
    stack.push(v);
  };
  const pop = (): PickleValue => {
    const v = stack.pop();
    if (v === undefined || v === MARK) throw new PickleError(`stack underflow at byte ${p}`);
    return v;
  };
  const top = (): PickleValue => {
    const v = stack[stack.length - 1];
    if (v === undefined || v === MARK) throw new PickleError(`empty stack at byte ${p}`);
    return v;
  };
  const popMark = (): PickleValue[] => {
    const at = marks.pop();
    if (at === undefined) throw new PickleError(`no mark at byte ${p}`);
    const items = stack.splice(at + 1) as PickleValue[];
    stack.pop(); // the mark itself
    return items;
  };
  const put = (i: number) => {
    if (memo.length + sparse.size >= limits.maxValues) throw new PickleError("memo too big");
    if (i === memo.length) memo.push(top());
    else if (i < memo.length) memo[i] = top();
    else sparse.set(i, top());
  };
  const get = (i: number) => {
    const v = i < memo.length ? memo[i] : sparse.get(i);
    if (v === undefined) throw new PickleError(`memo ${i} unset at byte ${p}`);
    push(v);
  };
  const setItems = (target: PickleValue, items: PickleValue[]) => {
    const m = target instanceof Map ? target : isObject(target) ? stateMap(target) : null;
    if (!m) throw new PickleError(`SETITEM on a non-dict at byte ${p}`);
    for (let i = 0; i + 1 < items.length; i += 2) m.set(items[i] as PickleValue, items[i + 1] as PickleValue);
  };
  const append = (target: PickleValue, items: PickleValue[]) => {
    if (Array.isArray(target)) target.push(...items);
    else if (isObject(target))
      target.args.push(...items); // list subclasses, sets built by REDUCE
    else throw new PickleError(`APPEND on a non-list at byte ${p}`);
  };
  const object = (cls: PickleValue, args: PickleValue): PickledObject => ({
    kind: "object",
    cls: typeof cls === "object" && cls !== null && "kind" in cls && cls.kind === "global" ? cls.name : "?",
    args: Array.isArray(args) ? [...args] : [args],
    state: null,
  });

  for (;;) {
    if (++ops > limits.maxOps) throw new PickleError("too many opcodes");
    const op = u8();
    switch (op) {
      case 0x80: // PROTO
        u8();
        break;
      case 0x95: // FRAME: a length hint only
        u64();
        break;
      case 0x2e: // STOP
        if (stack.length !== 1) throw new PickleError("STOP with a stack that is not one value");
        return pop();
      case 0x28: // MARK
        if (marks.length >= limits.maxMarks) throw new PickleError("marks nested too deep");
        marks.push(stack.length);
        stack.push(MARK);
        break;
      case 0x30: // POP
        if (stack[stack.length - 1] === MARK) popMark();
        else pop();
        break;
      case 0x31: // POP_MARK
        popMark();
        break;
      case 0x32: // DUP
        push(top());
        break;
      case 0x4e: // NONE
        push(null);
        break;
      case 0x88: // NEWTRUE
        push(true);
        break;
      case 0x89: // NEWFALSE
        push(false);
        break;
      case 0x4b: // BININT1
        push(u8());
        break;
      case 0x4d: // BININT2
        push(u16());
        break;
      case 0x4a: // BININT
        push(le(4) | 0);
        break;
      case 0x8a: // LONG1
        push(longOf(take(u8())));
        break;
      case 0x8b: // LONG4
        push(longOf(take(u32())));
        break;
      case 0x49: {
        // INT (text): also the protocol 0 booleans
        const s = line();
        push(s === "01" ? true : s === "00" ? false : Number(s));
        break;
      }
      case 0x4c: // LONG (text)
        push(Number(line().replace(/L$/, "")));
        break;
      case 0x47: {
        // BINFLOAT
        const i = need(8);
        p += 8;
        push(new DataView(buf.buffer, buf.byteOffset + i, 8).getFloat64(0, false));
        break;
      }
      case 0x46: // FLOAT (text)
        push(Number(line()));
        break;
      case 0x8c: // SHORT_BINUNICODE
        push(text(u8()));
        break;
      case 0x58: // BINUNICODE
        push(text(u32()));
        break;
      case 0x8d: // BINUNICODE8
        push(text(u64()));
        break;
      case 0x56: // UNICODE (text, raw-unicode-escape)
        push(line());
        break;
      case 0x55: // SHORT_BINSTRING
        push(text(u8()));
        break;
      case 0x54: // BINSTRING
        push(text(u32()));
        break;
      case 0x53: // STRING (text, quoted)
        push(line().slice(1, -1));
        break;
      case 0x43: // SHORT_BINBYTES
        push(take(u8()));
        break;
      case 0x42: // BINBYTES
        push(bytes(u32()));
        break;
      case 0x8e: // BINBYTES8
        push(bytes(u64()));
        break;
      case 0x96: // BYTEARRAY8
        push(bytes(u64()));
        break;
      case 0x29: // EMPTY_TUPLE
        push([]);
        break;
      case 0x85: // TUPLE1
        push([pop()]);
        break;
      case 0x86: {
        // TUPLE2
        const b = pop();
        push([pop(), b]);
        break;
      }
      case 0x87: {
        // TUPLE3
        const c = pop();
        const b = pop();
        push([pop(), b, c]);
        break;
      }
      case 0x74: // TUPLE
      case 0x6c: // LIST
        push(popMark());
        break;
      case 0x5d: // EMPTY_LIST
        push([]);
        break;
      case 0x61: {
        // APPEND
        const v = pop();
        append(top(), [v]);
        break;
      }
      case 0x65: {
        // APPENDS
        const items = popMark();
        append(top(), items);
        break;
      }
      case 0x7d: // EMPTY_DICT
        push(new Map());
        break;
      case 0x64: {
        // DICT
        const m = new Map<PickleValue, PickleValue>();
        setItems(m, popMark());
        push(m);
        break;
      }
      case 0x73: {
        // SETITEM
        const v = pop();
        const k = pop();
        setItems(top(), [k, v]);
        break;
      }
      case 0x75: {
        // SETITEMS
        const items = popMark();
        setItems(top(), items);
        break;
      }
      case 0x8f: // EMPTY_SET
        push(object({ kind: "global", name: "builtins.set" }, []));
        break;
      case 0x90: {
        // ADDITEMS
        const items = popMark();
        append(top(), items);
        break;
      }
      case 0x91: // FROZENSET
        push(object({ kind: "global", name: "builtins.frozenset" }, popMark()));
        break;
      case 0x94: // MEMOIZE
        put(memo.length + sparse.size);
        break;
      case 0x71: // BINPUT
        put(u8());
        break;
      case 0x72: // LONG_BINPUT
        put(u32());
        break;
      case 0x70: // PUT (text)
        put(Number(line()));
        break;
      case 0x68: // BINGET
        get(u8());
        break;
      case 0x6a: // LONG_BINGET
        get(u32());
        break;
      case 0x67: // GET (text)
        get(Number(line()));
        break;
      case 0x63: {
        // GLOBAL: "module\nname\n"
        const mod = line();
        push({ kind: "global", name: `${mod}.${line()}` });
        break;
      }
      case 0x93: {
        // STACK_GLOBAL
        const name = pop();
        const mod = pop();
        push({ kind: "global", name: `${String(mod)}.${String(name)}` });
        break;
      }
      case 0x52: {
        // REDUCE: callable(*args), never called
        const args = pop();
        push(object(pop(), args));
        break;
      }
      case 0x81: {
        // NEWOBJ: cls.__new__(cls, *args)
        const args = pop();
        push(object(pop(), args));
        break;
      }
      case 0x92: {
        // NEWOBJ_EX
        pop(); // kwargs
        const args = pop();
        push(object(pop(), args));
        break;
      }
      case 0x69: {
        // INST: "module\nname\n" then the marked args
        const mod = line();
        const name = line();
        push(object({ kind: "global", name: `${mod}.${name}` }, popMark()));
        break;
      }
      case 0x6f: {
        // OBJ: mark, cls, args...
        const items = popMark();
        push(object(items[0] ?? null, items.slice(1)));
        break;
      }
      case 0x62: {
        // BUILD: obj.__setstate__(state), never called
        const state = pop();
        const target = top();
        if (isObject(target)) target.state = state;
        else if (target instanceof Map && state instanceof Map) for (const [k, v] of state) target.set(k, v);
        break;
      }
      case 0x50: // PERSID
        push({ kind: "global", name: `persistent:${line()}` });
        break;
      case 0x51: // BINPERSID
        push(object({ kind: "global", name: "persistent" }, pop()));
        break;
      case 0x82: // EXT1
        push({ kind: "global", name: `ext:${u8()}` });
        break;
      case 0x83: // EXT2
        push({ kind: "global", name: `ext:${u16()}` });
        break;
      case 0x84: // EXT4
        push({ kind: "global", name: `ext:${u32()}` });
        break;
      case 0x97: // NEXT_BUFFER: out-of-band data this reader does not have
        push(null);
        break;
      case 0x98: // READONLY_BUFFER
        break;
      default:
        throw new PickleError(`unknown opcode 0x${op.toString(16)} at byte ${p - 1 - start}`);
    }
  }
}

function longOf(b: Uint8Array): number | bigint {
  if (b.length === 0) return 0;
  let v = 0n;
  for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i] as number);
  if ((b[b.length - 1] as number) & 0x80) v -= 1n << BigInt(8 * b.length);
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}
