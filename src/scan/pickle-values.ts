// The values the pickle reader (pickle.ts) builds: plain data, nothing executed.
import type { ByteRange } from "./byte-source.js";

/** An object pickle would have built by calling `cls`: nothing was called. */
export interface PickledObject {
  kind: "object";
  /** "module.qualname" */
  cls: string;
  args: PickleValue[];
  state: PickleValue;
}

export interface PickledGlobal {
  kind: "global";
  name: string;
}

/** A byte string left in the source, unread. */
export interface LazyBytes extends ByteRange {
  kind: "bytes";
}

export type PickleValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | Uint8Array
  | LazyBytes
  | PickleValue[]
  | Map<PickleValue, PickleValue>
  | PickledObject
  | PickledGlobal;

export class PickleError extends Error {}

/** The tag of a tagged value (an object, a global, a lazy byte string); undefined for the rest. */
function tagOf(v: PickleValue | undefined): string | undefined {
  if (typeof v !== "object" || v === null || v instanceof Uint8Array || Array.isArray(v) || v instanceof Map) return;
  return v.kind;
}

export function isObject(v: PickleValue | undefined): v is PickledObject {
  return tagOf(v) === "object";
}

export function isLazy(v: PickleValue | undefined): v is LazyBytes {
  return tagOf(v) === "bytes";
}

/** The attributes an object was given by BUILD (its __dict__), made a dict if it had none. */
export function stateMap(o: PickledObject): Map<PickleValue, PickleValue> {
  if (o.state instanceof Map) return o.state;
  // (state, slotstate) pairs: the dict is the first, or the second when the first is None
  if (Array.isArray(o.state)) {
    const m = o.state.find((s) => s instanceof Map);
    if (m instanceof Map) return m;
  }
  const m = new Map<PickleValue, PickleValue>();
  o.state = m;
  return m;
}

/** An attribute of a pickled object, or a key of a dict. */
export function field(v: PickleValue | undefined, name: string): PickleValue | undefined {
  if (v instanceof Map) return v.get(name);
  if (isObject(v)) return stateMap(v).get(name);
  return undefined;
}
