// Small facts about this host that a warm needs: programs on PATH, device groups, a fresh folder.
import { accessSync, constants, mkdirSync, readFileSync } from "node:fs";
import { delimiter, join, resolve } from "node:path";
import { McmError } from "../core/errors.js";
import type { HostGroups } from "./container.js";
import { captureFolderName } from "./request.js";

export function which(cmd: string, env: NodeJS.ProcessEnv): string | undefined {
  if (cmd.includes("/")) return cmd;
  for (const dir of (env.PATH ?? "").split(delimiter)) {
    if (!dir) continue;
    const p = join(dir, cmd);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** The host's video and render group ids, for ROCm's device nodes. */
export function hostGroups(groupFile = "/etc/group"): HostGroups {
  const out: HostGroups = {};
  let text = "";
  try {
    text = readFileSync(groupFile, "utf8");
  } catch {
    return out;
  }
  for (const line of text.split("\n")) {
    const [name, , gid] = line.split(":");
    if ((name === "video" || name === "render") && gid && /^\d+$/.test(gid)) out[name] = Number(gid);
  }
  return out;
}

/** Makes `<hostCacheDir>/cache_<timestamp>`; a second warm in the same second gets a suffix. */
export function makeCaptureFolder(hostCacheDir: string, now = new Date()): string {
  const parent = resolve(hostCacheDir);
  try {
    mkdirSync(parent, { recursive: true });
  } catch (e) {
    throw new McmError(`cannot create --host-cache-dir ${parent}: ${(e as Error).message}`);
  }
  const base = join(parent, captureFolderName(now));
  for (let i = 0; i < 100; i++) {
    const path = i === 0 ? base : `${base}_${i}`;
    try {
      mkdirSync(path);
      return path;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") {
        throw new McmError(`cannot create ${path}: ${(e as Error).message}`);
      }
    }
  }
  throw new McmError(`cannot create a fresh folder under ${parent}: too many warms in one second`);
}
