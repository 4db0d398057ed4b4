// The archive commands over a whole 100k-kernel cache, for issue 15's "peak RSS
// of every command <= 300 MB": export, push --oci-layout and import, on the slim
// shape (401k files, sparse binaries: minutes, not the hour gzip of the full
// shape's 14 GB would take), each with its time against the plain tool that
// moves the same bytes in the same run (tar czf, tar xzf).
import { mkdirSync, rmSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import type { CacheInfo, Templates } from "./generate.js";
import { ensureSlimCache } from "./generate-slim.js";
import { type RssRunner, type Timed, timed } from "./measure.js";
import { mb, ms, type Row, ratio } from "./report.js";

export const PACK_TARGET = { rssMb: 300 };
export const PACK_KERNELS = 100_000;

export interface PackOptions {
  work: string;
  templates: () => Templates;
  rss: RssRunner;
  mcm: (args: string[]) => Timed;
  env: NodeJS.ProcessEnv;
  removeDb: (db: string) => void;
  settle: () => void;
  progress: (text: string) => void;
}

interface PackCommand {
  name: string;
  floor: string;
  ms: number;
  floorMs: number;
  rssKb: number;
}

export interface PackResult {
  cache: CacheInfo;
  commands: PackCommand[];
  /** kernels the import indexed */
  imported: number;
}

export function benchPack(o: PackOptions): PackResult {
  const cache = ensureSlimCache(join(o.work, `triton-slim-${PACK_KERNELS}`), PACK_KERNELS, o.templates());
  const root = cache.root;
  const dir = join(o.work, "pack");
  const db = join(dir, "pack.db");
  const mcmTgz = join(dir, "mcm-export.tgz");
  const tarTgz = join(dir, "tar-czf.tgz");
  const layout = join(dir, "layout");
  const dest = join(dir, "import-dest");
  const tarDest = join(dir, "tar-xzf-dest");
  const clean = () => {
    for (const p of [dest, tarDest, layout]) rmSync(p, { recursive: true, force: true });
  };
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const r: PackResult = { cache, commands: [], imported: 0 };
  // the runner throws when the command fails
  const run = (name: string, floor: string, floorMs: number, args: string[]) => {
    o.settle();
    const t = o.rss.run(args, o.env, true);
    r.commands.push({ name, floor, ms: t.ms, floorMs, rssKb: t.rssKb });
    o.progress(`[pack ${PACK_KERNELS}] ${name}: ${ms(t.ms)} (${floor} ${ms(floorMs)}), peak RSS ${mb(t.rssKb)}`);
    return t;
  };
  try {
    o.progress(`[pack ${PACK_KERNELS}] indexing ${root} (untimed), warming the page cache`);
    o.mcm(["--db", db, "index", "--cache-dir", root]);
    timed("tar", ["cf", "/dev/null", "-C", dirname(root), basename(root)]);
    o.settle();
    // tar first, then mcm: both read the same warm page cache
    const czf = timed("tar", ["czf", tarTgz, "-C", dirname(root), basename(root)]).ms;
    run("export (the whole cache)", "tar czf", czf, ["--db", db, "export", "--cache-dir", root, "-o", mcmTgz]);
    run("push --oci-layout (the whole cache)", "tar czf", czf, [
      "--db",
      db,
      "push",
      "bench/slim:1",
      "--cache-dir",
      root,
      "--oci-layout",
      layout,
    ]);
    clean();
    mkdirSync(tarDest);
    o.settle();
    const xzf = timed("tar", ["xzf", tarTgz, "-C", tarDest]).ms;
    rmSync(tarDest, { recursive: true, force: true });
    const imp = run("import + index of that export", "tar xzf", xzf, [
      "--db",
      join(dir, "import.db"),
      "import",
      mcmTgz,
      "--cache-dir",
      dest,
      "--json",
    ]);
    r.imported = (JSON.parse(imp.stdout) as { indexed: { kernels: number } }).indexed.kernels;
  } finally {
    clean();
    for (const p of [mcmTgz, tarTgz]) rmSync(p, { force: true });
    o.removeDb(db);
    o.removeDb(join(dir, "import.db"));
  }
  return r;
}

export function packRows(r: PackResult): Row[] {
  const n = r.cache.kernels;
  const rows: Row[] = [];
  for (const c of r.commands) {
    rows.push(
      {
        size: n,
        measurement: `${c.name} / ${c.floor}`,
        value: ms(c.ms),
        ratio: ratio(c.ms / c.floorMs),
        target: "",
        pass: null,
      },
      {
        size: n,
        measurement: `${c.name}: peak RSS`,
        value: mb(c.rssKb),
        ratio: "",
        target: `<= ${PACK_TARGET.rssMb} MB`,
        pass: c.rssKb <= PACK_TARGET.rssMb * 1024,
      },
    );
  }
  rows.push({
    size: n,
    measurement: "check: kernels the import indexed",
    value: String(r.imported),
    ratio: "",
    target: `= ${n}`,
    pass: r.imported === n,
  });
  return rows;
}
