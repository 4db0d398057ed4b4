import type { Backend } from "./backend.js";

export const cuda: Backend = {
  name: "cuda",
  binaryExts: ["cubin"],
  asmExts: ["ptx"],
  defaultWarpSize: 32,
  // 3.x writes 90; older option fields say "sm90" or "sm_90a"
  archName(raw) {
    if (typeof raw === "number") return String(raw);
    if (typeof raw === "string") return raw.replace(/^sm_?/, "");
    return null;
  },
};
