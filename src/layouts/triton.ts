import type { Layout } from "./layout.js";

/** A plain Triton cache: every child of the root is a cache entry. */
export const triton: Layout = {
  name: "triton",
  detect: () => true,
  walk(root, out, ctx) {
    out.tritonDirs.push({ path: root, ctx });
    out.watchDirs.push(root);
  },
};
