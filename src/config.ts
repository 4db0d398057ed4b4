// Default paths, from the environment the way Triton, Inductor and vLLM read it.
import { homedir, tmpdir, userInfo } from "node:os";
import { join } from "node:path";
import type { LayoutName } from "./core/types.js";

const env = (k: string) => (process.env[k] ? process.env[k] : undefined);

export function defaultDbPath(): string {
  const data = env("XDG_DATA_HOME") ?? join(homedir(), ".local", "share");
  return env("MCM_DB") ?? join(data, "model-cache-manager", "cache.db");
}

function userName(): string {
  try {
    return userInfo().username;
  } catch {
    return "unknown";
  }
}

export function defaultCacheDir(layout: LayoutName): string {
  switch (layout) {
    case "triton": {
      const th = env("TRITON_HOME");
      return env("TRITON_CACHE_DIR") ?? join(th ?? homedir(), ".triton", "cache");
    }
    case "vllm":
      return env("VLLM_CACHE_ROOT") ?? join(env("XDG_CACHE_HOME") ?? join(homedir(), ".cache"), "vllm");
    case "inductor":
      return env("TORCHINDUCTOR_CACHE_DIR") ?? join(tmpdir(), `torchinductor_${userName()}`);
  }
}
