/** What mcm needs to know about one Triton backend. Adding a backend is adding a file. */
export interface Backend {
  name: string;
  /** extensions of the file Triton loads on a hit (never removed alone) */
  binaryExts: string[];
  /** assembly Triton keeps for people, not for hits */
  asmExts: string[];
  defaultWarpSize: number;
  /** `target.arch` (or an older field) as a string: "90", "gfx90a" */
  archName(raw: unknown): string | null;
}

/** IR stages every backend writes; none is needed for a hit. */
export const IR_EXTS = ["source", "ttir", "ttgir", "llir", "glir", "mlir"];
