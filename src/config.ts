// Default paths, from the environment the way Triton, Inductor and vLLM read it.
import { readFileSync } from "node:fs";
import { homedir, tmpdir, userInfo } from "node:os";
import { join } from "node:path";
import { McmError } from "./core/errors.js";
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

/** The user's config file: `$MCM_CONFIG`, else `$XDG_CONFIG_HOME/mcm/config.json`. */
export function configPath(): string {
  return env("MCM_CONFIG") ?? join(env("XDG_CONFIG_HOME") ?? join(homedir(), ".config"), "mcm", "config.json");
}

export interface McmConfig {
  warm?: { image?: string; rocmImage?: string; engine?: string };
}

/** Reads the config file; a missing file is an empty config, a bad one is one clear error. */
export function loadConfig(): McmConfig {
  const path = configPath();
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return {};
    throw new McmError(`cannot read config file ${path}: ${(e as Error).message}`);
  }
  try {
    const value = JSON.parse(text) as unknown;
    if (typeof value !== "object" || value === null || Array.isArray(value)) throw new Error("not a JSON object");
    return value as McmConfig;
  } catch (e) {
    throw new McmError(`config file ${path} is not valid: ${(e as Error).message}`);
  }
}
