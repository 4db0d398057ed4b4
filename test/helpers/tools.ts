// External programs some tests run for real (podman, a registry, skopeo, ...).
// In CI (CI=true) a missing one fails the test file at once; on a developer's
// machine the tests that need it are skipped with the package that brings it.
import { accessSync, constants } from "node:fs";
import { delimiter, join } from "node:path";

export interface Tool {
  /** a program on PATH, or an absolute path to a file */
  cmd: string;
  /** the Debian package that provides it */
  pkg: string;
}

export const TOOLS = {
  podman: { cmd: "podman", pkg: "podman" },
  runc: { cmd: "runc", pkg: "runc" },
  busybox: { cmd: "/bin/busybox", pkg: "busybox-static" },
  registry: { cmd: "docker-registry", pkg: "docker-registry" },
  skopeo: { cmd: "skopeo", pkg: "skopeo" },
  htpasswd: { cmd: "htpasswd", pkg: "apache2-utils" },
  openssl: { cmd: "openssl", pkg: "openssl" },
  /** util-linux's script, for a pseudo-terminal */
  script: { cmd: "script", pkg: "bsdutils" },
} satisfies Record<string, Tool>;

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export function found(t: Tool): boolean {
  if (t.cmd.startsWith("/")) return executable(t.cmd);
  return (process.env.PATH ?? "").split(delimiter).some((d) => d !== "" && executable(join(d, t.cmd)));
}

/**
 * For `describe(name, { skip: missing(...) }, ...)`: false when every tool is
 * there; else a skip reason naming the packages, or, in CI, an error thrown
 * while the file loads, so that the file fails.
 */
export function missing(...tools: Tool[]): string | false {
  const absent = tools.filter((t) => !found(t));
  if (absent.length === 0) return false;
  const what = `needs ${absent.map((t) => t.cmd).join(", ")}: apt-get install ${[...new Set(absent.map((t) => t.pkg))].join(" ")}`;
  if (process.env.CI === "true") throw new Error(`CI: this test file ${what}`);
  return what;
}
