import type { Backend } from "./backend.js";

export const hip: Backend = {
  name: "hip",
  binaryExts: ["hsaco"],
  asmExts: ["amdgcn"],
  defaultWarpSize: 64,
  // "gfx90a", "gfx942"; some builds append target features ("gfx90a:sramecc+:xnack-")
  archName(raw) {
    if (typeof raw === "string") return raw.split(":")[0] ?? raw;
    return null;
  },
};
