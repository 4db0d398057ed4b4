// vLLM's `vllm_compile_cache.py`: a Python literal (pprint of a dict) that maps
// each (compile range, subgraph, compiler) to a handle; the standalone compiler's
// handle is (artifact name, ABSOLUTE artifact path), and vLLM loads the path as
// written. A cache moved elsewhere then fails at start-up, or loads the old copy
// while it exists. This module parses the literal (nothing is evaluated),
// points such paths at the folder the file is in, and writes it back as a literal
// `ast.literal_eval` reads the same way.
import { readdirSync } from "node:fs";
import { McmError } from "../core/errors.js";
import { readFileCapped } from "../scan/vllm-unit.js";

export type PyValue =
  | null
  | boolean
  | number
  | string
  | { kind: "tuple" | "list"; items: PyValue[] }
  | { kind: "dict"; entries: [PyValue, PyValue][] };

class Parser {
  p = 0;
  constructor(readonly s: string) {}

  fail(what: string): never {
    throw new McmError(`vllm_compile_cache.py: ${what} at character ${this.p}`);
  }
  skipSpace(): void {
    for (;;) {
      while (this.p < this.s.length && /\s/.test(this.s[this.p] as string)) this.p++;
      if (this.s[this.p] !== "#") return;
      while (this.p < this.s.length && this.s[this.p] !== "\n") this.p++;
    }
  }
  value(depth = 0): PyValue {
    if (depth > 64) this.fail("nested too deep");
    this.skipSpace();
    const c = this.s[this.p];
    if (c === "{") return this.dict(depth);
    if (c === "(" || c === "[") return this.seq(c, depth);
    if (c === "'" || c === '"') {
      // adjacent literals concatenate: pprint splits long strings over lines
      let out = this.str();
      for (this.skipSpace(); this.s[this.p] === "'" || this.s[this.p] === '"'; this.skipSpace()) out += this.str();
      return out;
    }
    const m = /^(?:None|True|False|-?\d+(?:\.\d+)?)/.exec(this.s.slice(this.p, this.p + 40));
    if (!m) this.fail("not a literal");
    this.p += m[0].length;
    return m[0] === "None" ? null : m[0] === "True" ? true : m[0] === "False" ? false : Number(m[0]);
  }
  str(): string {
    const q = this.s[this.p++] as string;
    let out = "";
    while (this.p < this.s.length) {
      const c = this.s[this.p++] as string;
      if (c === q) return out;
      if (c === "\n") this.fail("unterminated string");
      if (c !== "\\") {
        out += c;
        continue;
      }
      const e = this.s[this.p++];
      const simple: Record<string, string> = { n: "\n", t: "\t", r: "\r", "\\": "\\", "'": "'", '"': '"', "0": "\0" };
      if (e !== undefined && e in simple) out += simple[e];
      else if (e === "x" || e === "u") {
        const n = e === "x" ? 2 : 4;
        const hex = this.s.slice(this.p, this.p + n);
        if (!/^[0-9a-fA-F]+$/.test(hex) || hex.length !== n) this.fail("bad escape");
        out += String.fromCharCode(Number.parseInt(hex, 16));
        this.p += n;
      } else this.fail("unknown escape");
    }
    this.fail("unterminated string");
  }
  seq(open: string, depth: number): PyValue {
    const close = open === "(" ? ")" : "]";
    this.p++;
    const items: PyValue[] = [];
    let comma = false;
    for (;;) {
      this.skipSpace();
      if (this.s[this.p] === close) break;
      items.push(this.value(depth + 1));
      this.skipSpace();
      comma = this.s[this.p] === ",";
      if (comma) this.p++;
      else if (this.s[this.p] !== close) this.fail(`expected , or ${close}`);
    }
    this.p++;
    // (x) is x; (x,) is a tuple
    if (open === "(" && items.length === 1 && !comma) return items[0] as PyValue;
    return { kind: open === "(" ? "tuple" : "list", items };
  }
  dict(depth: number): PyValue {
    this.p++;
    const entries: [PyValue, PyValue][] = [];
    for (;;) {
      this.skipSpace();
      if (this.s[this.p] === "}") break;
      const k = this.value(depth + 1);
      this.skipSpace();
      if (this.s[this.p++] !== ":") this.fail("expected :");
      entries.push([k, this.value(depth + 1)]);
      this.skipSpace();
      if (this.s[this.p] === ",") this.p++;
      else if (this.s[this.p] !== "}") this.fail("expected , or }");
    }
    this.p++;
    return { kind: "dict", entries };
  }
}

export function parsePyLiteral(text: string): PyValue {
  const p = new Parser(text);
  const v = p.value();
  p.skipSpace();
  if (p.p !== text.length) p.fail("text after the literal");
  return v;
}

/** Python's repr of a literal: what `ast.literal_eval` reads back as the same value. */
export function pyRepr(v: PyValue): string {
  if (v === null) return "None";
  if (v === true) return "True";
  if (v === false) return "False";
  if (typeof v === "number") return String(v);
  if (typeof v === "string") return `'${v.replace(/\\/g, "\\\\").replace(/'/g, "\\'").replace(/\n/g, "\\n")}'`;
  if (v.kind === "dict") return `{${v.entries.map(([k, x]) => `${pyRepr(k)}: ${pyRepr(x)}`).join(",\n ")}}`;
  const inner = v.items.map(pyRepr).join(", ");
  if (v.kind === "list") return `[${inner}]`;
  return v.items.length === 1 ? `(${inner},)` : `(${inner})`;
}

export interface IndexRelocation {
  text: string;
  /** handles now pointing into the folder */
  rewritten: number;
  /** absolute paths left: naming a file the folder lacks */
  left: number;
}

/**
 * Points each handle (name, absolute path) of a vllm_compile_cache.py in `dir`
 * at `dir/<file>`, where that file is there. Null when nothing changes.
 */
export function relocateVllmIndex(text: string, dir: string, has: (name: string) => boolean): IndexRelocation | null {
  const doc = parsePyLiteral(text);
  if (doc === null || typeof doc !== "object" || doc.kind !== "dict") {
    throw new McmError("vllm_compile_cache.py: not a dict literal");
  }
  let rewritten = 0;
  let left = 0;
  for (const entry of doc.entries) {
    const h = entry[1];
    if (h === null || typeof h !== "object" || h.kind !== "tuple" || h.items.length !== 2) continue;
    const path = h.items[1];
    if (typeof path !== "string" || !path.startsWith("/")) continue;
    const file = path.slice(path.lastIndexOf("/") + 1);
    const want = `${dir}/${file}`;
    if (path === want) continue;
    if (!has(file)) {
      left++;
      continue;
    }
    entry[1] = { kind: "tuple", items: [h.items[0] as PyValue, want] };
    rewritten++;
  }
  return rewritten ? { text: pyRepr(doc), rewritten, left } : null;
}

/**
 * The vllm_compile_cache.py of a compile folder as it is, and what pointing it
 * at the folder changes (null: nothing). Null for a folder without one, or with
 * one that is not a literal mcm reads (left as it is: vLLM's own problem, not a move).
 */
export function vllmIndexIn(dir: string): { file: string; before: string; moved: IndexRelocation | null } | null {
  const file = `${dir}/vllm_compile_cache.py`;
  const read = readFileCapped(file, []);
  if (!read) return null;
  try {
    const before = read.data.toString("utf8");
    const names = new Set(readdirSync(dir));
    return { file, before, moved: relocateVllmIndex(before, dir, (f) => names.has(f)) };
  } catch {
    return null;
  }
}
