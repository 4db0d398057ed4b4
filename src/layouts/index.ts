import { existsSync } from "node:fs";
import { McmError } from "../core/errors.js";
import type { LayoutName, Mode } from "../core/types.js";
import { inductor } from "./inductor.js";
import type { Layout } from "./layout.js";
import { triton } from "./triton.js";
import { vllm } from "./vllm.js";

export type { Layout, WalkResult } from "./layout.js";
export { emptyWalk, NO_VLLM } from "./layout.js";

/** In detection order: the most specific first; triton accepts anything. */
export const LAYOUTS: readonly Layout[] = [vllm, inductor, triton];

export function layoutFor(mode: Mode, root: string): Layout {
  // a few existence checks: a big Triton root is never listed just to tell its layout
  const has = (name: string) => existsSync(`${root}/${name}`);
  if (mode === "auto") return LAYOUTS.find((l) => l.detect(has)) as Layout;
  const l = LAYOUTS.find((x) => x.name === mode);
  if (!l) throw new McmError(`unknown mode '${mode}': use auto, triton, inductor or vllm`);
  return l;
}

export const LAYOUT_NAMES: readonly LayoutName[] = LAYOUTS.map((l) => l.name);
