import type { Backend } from "./backend.js";

export const xpu: Backend = {
  name: "xpu",
  binaryExts: ["spv", "zebin"],
  asmExts: [],
  defaultWarpSize: 32,
  // Intel's backend stores a dict of device properties as target.arch
  archName(raw) {
    if (typeof raw === "string") return raw;
    if (raw && typeof raw === "object") {
      const o = raw as Record<string, unknown>;
      for (const k of ["arch", "device_arch", "architecture", "name"]) {
        if (o[k] !== undefined && o[k] !== null) return String(o[k]);
      }
    }
    return null;
  },
};
