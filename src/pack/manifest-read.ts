// Reads mcm-manifest.json as its bytes arrive: the text is never held whole
// (a 100k-kernel cache's manifest is about 100 MB, and its text and Buffer
// copies were twice the records' memory). A small scanner splits the top-level
// object into its fields and the "files" and "kernels" arrays into their
// records; JSON.parse reads each piece, so any valid JSON layout is read.
import { StringDecoder } from "node:string_decoder";
import { McmError } from "../core/errors.js";
import { MAX_JSON_DEPTH, TOO_DEEP } from "../core/json-depth.js";
import { LAYOUT_NAMES } from "../layouts/index.js";
import {
  MANIFEST_FORMAT,
  MANIFEST_NAME,
  MANIFEST_VERSION,
  MAX_MANIFEST_BYTES,
  type Manifest,
  type ManifestFile,
} from "./manifest.js";

/** The longest field or record read: a file record is about 150 bytes. */
export const MAX_MANIFEST_PIECE = 1 << 20;

const fail = (why: string): never => {
  throw new McmError(`invalid ${MANIFEST_NAME}: ${why}`);
};

/** Refuses a manifest over `cap` bytes; callers that know its size early (a tar header) check it then. */
export function checkManifestSize(bytes: number, cap = MAX_MANIFEST_BYTES): void {
  if (bytes > cap) fail(`${(bytes / 1e6).toFixed(1)} MB, over the ${cap / 2 ** 20} MiB cap`);
}

const RECORD_ARRAYS = new Set(["files", "kernels"]);
const isSpace = (c: number) => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;

type State =
  | "start" // before the top-level "{"
  | "key-or-end" // after "{": a key or "}"
  | "key" // after ",": a key
  | "colon"
  | "value"
  | "element-or-end" // after "[" of a record array
  | "element" // after "," in a record array
  | "after-value" // "," or "}"
  | "done";

function checkFile(f: ManifestFile): void {
  if (
    typeof f?.path !== "string" ||
    !Number.isSafeInteger(f.size) ||
    f.size < 0 ||
    typeof f.sha256 !== "string" ||
    !/^[0-9a-f]{64}$/.test(f.sha256)
  )
    fail(`bad file record ${JSON.stringify(f).slice(0, 200)}`);
}

/** Where a reader sends its records instead of holding them (the manifest it gives back then lists none). */
export interface ManifestSinks {
  /** each file record, checked, as it is read */
  onFile?: (f: ManifestFile) => void;
  /** kernel records are parsed and dropped */
  dropKernels?: boolean;
}

export class ManifestReader {
  private readonly decoder = new StringDecoder("utf8");
  private state: State = "start";
  private bytes = 0;
  /** the piece being read (a key, a field's value or a record), from earlier chunks */
  private piece = "";
  private capturing = false;
  /** brackets open inside the piece, outside strings */
  private depth = 0;
  private inString = false;
  private escaped = false;
  private key = "";
  private readonly fields = new Map<string, unknown>();
  private records: unknown[] | null = null;
  /** where the current record array's records go, when not into `records` */
  private sink: ((v: unknown) => void) | null = null;

  constructor(
    private readonly cap = MAX_MANIFEST_BYTES,
    private readonly sinks: ManifestSinks = {},
  ) {}

  write(chunk: Buffer): void {
    this.bytes += chunk.length;
    checkManifestSize(this.bytes, this.cap);
    this.scan(this.decoder.write(chunk));
  }

  /** The manifest, checked: one clear error when it is not one mcm can trust. */
  end(): Manifest {
    this.scan(this.decoder.end());
    if (this.state !== "done") fail("Unexpected end of JSON input");
    const m = Object.fromEntries(this.fields) as unknown as Manifest;
    if (m.format !== MANIFEST_FORMAT) fail("not an mcm archive manifest");
    if (m.formatVersion !== MANIFEST_VERSION) {
      fail(`format version ${m.formatVersion}; this mcm reads version ${MANIFEST_VERSION} (upgrade mcm)`);
    }
    if (!LAYOUT_NAMES.includes(m.layout)) fail(`unknown layout ${JSON.stringify(m.layout)}`);
    if (!Array.isArray(m.files) || !Array.isArray(m.kernels)) fail("no file or kernel list");
    return m;
  }

  private scan(text: string): void {
    let from = this.capturing ? 0 : -1; // where the piece starts in `text`
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (this.capturing) {
        if (this.inString) {
          if (this.escaped) this.escaped = false;
          else if (c === 0x5c) this.escaped = true;
          else if (c === 0x22) {
            this.inString = false;
            if (this.state === "key" || this.state === "key-or-end") {
              this.gotKey(this.take(text, from, i + 1));
              from = -1;
            }
          }
          continue;
        }
        if (c === 0x22) this.inString = true;
        else if (c === 0x5b || c === 0x7b) {
          if (++this.depth > MAX_JSON_DEPTH - 2) fail(TOO_DEEP);
        } else if (c === 0x5d || c === 0x7d) {
          if (this.depth > 0) this.depth--;
          else {
            this.endPiece(this.take(text, from, i), c);
            from = -1;
          }
        } else if (c === 0x2c && this.depth === 0) {
          this.endPiece(this.take(text, from, i), c);
          from = -1;
        }
        continue;
      }
      if (isSpace(c)) continue;
      from = this.between(c, i);
      // a value's or record's first character is read as part of it (a key's opening quote already was)
      if (this.capturing && !this.inString) i--;
    }
    if (this.capturing) {
      this.piece += text.slice(Math.max(from, 0));
      if (this.piece.length > MAX_MANIFEST_PIECE) fail(`a record longer than ${MAX_MANIFEST_PIECE / 2 ** 20} MiB`);
    }
  }

  /** The piece so far plus text[from, to); the capture ends. */
  private take(text: string, from: number, to: number): string {
    const s = this.piece + text.slice(Math.max(from, 0), to);
    this.piece = "";
    this.capturing = false;
    if (s.length > MAX_MANIFEST_PIECE) fail(`a record longer than ${MAX_MANIFEST_PIECE / 2 ** 20} MiB`);
    return s;
  }

  /** A character outside any piece; returns where a piece starts (i), else -1. */
  private between(c: number, i: number): number {
    const start = () => {
      this.capturing = true;
      this.depth = 0;
      this.inString = false;
      this.escaped = false;
      return i;
    };
    switch (this.state) {
      case "start":
        if (c !== 0x7b) fail("not a JSON object");
        this.state = "key-or-end";
        return -1;
      case "key-or-end":
        if (c === 0x7d) {
          this.state = "done";
          return -1;
        }
        if (c !== 0x22) fail("expected a field name");
        return this.startString(start);
      case "key":
        if (c !== 0x22) fail("expected a field name");
        return this.startString(start);
      case "colon":
        if (c !== 0x3a) fail(`expected ":" after ${JSON.stringify(this.key)}`);
        this.state = "value";
        return -1;
      case "value":
        if (c === 0x5b && RECORD_ARRAYS.has(this.key)) {
          this.records = [];
          this.fields.set(this.key, this.records);
          this.sink = this.sinkFor(this.key);
          this.state = "element-or-end";
          return -1;
        }
        return start();
      case "element-or-end":
        if (c === 0x5d) {
          this.state = "after-value";
          return -1;
        }
        return start();
      case "element":
        return start();
      case "after-value":
        if (c === 0x2c) this.state = "key";
        else if (c === 0x7d) this.state = "done";
        else fail(`expected "," or "}" after ${JSON.stringify(this.key)}`);
        return -1;
      case "done":
        return fail("more text after the manifest");
    }
  }

  private sinkFor(key: string): ((v: unknown) => void) | null {
    const { onFile, dropKernels } = this.sinks;
    if (key === "files" && onFile) return onFile as (v: unknown) => void;
    if (key === "kernels" && dropKernels) return () => {};
    return null;
  }

  /** A key's opening quote: the string is captured up to its closing quote. */
  private startString(start: () => number): number {
    const i = start();
    this.inString = true;
    return i;
  }

  private gotKey(text: string): void {
    const key = JSON.parse(text) as string;
    if (this.fields.has(key)) fail(`${JSON.stringify(key)} appears twice`);
    this.key = key;
    this.state = "colon";
  }

  /** A field's value or a record ended at `stop` ("," "]" or "}"). */
  private endPiece(text: string, stop: number): void {
    const inArray = this.state === "element" || this.state === "element-or-end";
    let v: unknown;
    try {
      v = JSON.parse(text);
    } catch (e) {
      fail((e as Error).message);
    }
    if (inArray) {
      if (stop === 0x7d) fail(`unexpected "}" in ${JSON.stringify(this.key)}`);
      if (this.key === "files") checkFile(v as ManifestFile);
      if (this.sink) this.sink(v);
      else (this.records as unknown[]).push(v);
      this.state = stop === 0x2c ? "element" : "after-value";
      return;
    }
    if (stop === 0x5d) fail(`unexpected "]" after ${JSON.stringify(this.key)}`);
    this.fields.set(this.key, v);
    this.state = stop === 0x2c ? "key" : "done";
  }
}

/** Parses and checks a whole manifest text. */
export function parseManifest(text: string): Manifest {
  const r = new ManifestReader();
  r.write(Buffer.from(text));
  return r.end();
}
