import { copyFileSync, mkdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { McmError } from "../core/errors.js";

const MODULE = fileURLToPath(new URL("../../python/mcm_tracker.py", import.meta.url));

/** Prints how to turn the hit tracker on (or installs its module into DIR first). */
export async function run(o: { install?: string; json?: boolean }): Promise<number> {
  let module = MODULE;
  if (o.install !== undefined) {
    const dest = join(resolve(o.install), "mcm_tracker.py");
    try {
      mkdirSync(dirname(dest), { recursive: true });
      copyFileSync(MODULE, dest);
    } catch (e) {
      throw new McmError(`cannot install the tracker into ${o.install}: ${(e as Error).message}`);
    }
    module = dest;
  }
  const dir = dirname(module);
  const env = {
    PYTHONPATH: `${dir}\${PYTHONPATH:+:$PYTHONPATH}`,
    TRITON_CACHE_MANAGER: "mcm_tracker:TrackingCacheManager",
  };
  const out = (line: string) => process.stdout.write(`${line}\n`);
  if (o.json) {
    out(JSON.stringify({ module, env: { PYTHONPATH: dir, TRITON_CACHE_MANAGER: env.TRITON_CACHE_MANAGER } }, null, 2));
    return 0;
  }
  out(`# the mcm hit tracker: ${module}`);
  out("# it logs each Triton cache lookup under <cache dir>/.mcm/hits (or $MCM_HITS_DIR);");
  out("# mcm index, list, stats and prune read the logs. Enable it in your shell with:");
  out(`export PYTHONPATH=${env.PYTHONPATH}`);
  out(`export TRITON_CACHE_MANAGER=${env.TRITON_CACHE_MANAGER}`);
  return 0;
}
