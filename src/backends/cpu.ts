import type { Backend } from "./backend.js";

export const cpu: Backend = {
  name: "cpu",
  binaryExts: ["so"],
  asmExts: ["asm"],
  defaultWarpSize: 1,
  archName(raw) {
    return typeof raw === "string" ? raw : null;
  },
};
