// relocate in a shared cache folder whose other users race it: links planted
// at its temp names, kernel folders swapped for links between plan and write,
// group files that are FIFOs. Nothing outside the root is written, nothing hangs.
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import {
  cpSync,
  lstatSync,
  readdirSync,
  readFileSync,
  renameSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { dbIn, mcm, outputOf } from "../helpers/cli.js";
import { failpointEnv, reached, release } from "../helpers/failpoints.js";
import { cleanupTemp, extractFixture, tempDir } from "../helpers/fixtures.js";
import { kernelFolders } from "../helpers/tree.js";

after(cleanupTemp);

const BIN = new URL("../../bin/mcm", import.meta.url).pathname;
const POINT = "relocate.before-write";

function setup() {
  const db = dbIn(tempDir());
  const root = extractFixture("triton-cache"); // its group paths name the machine it was made on
  assert.equal(mcm(["index", "--cache-dir", root], { db }).code, 0);
  return { db, root };
}

const groupsOf = (dir: string) => readdirSync(dir).filter((f) => f.startsWith("__grp__"));

/** relocate -y, paused before its first write; `race` runs there, with the child's pid. */
async function relocateRacing(db: string, root: string, race: (pid: number) => void) {
  const fp = tempDir();
  const child = spawn(process.execPath, [BIN, "relocate", "-y", "--cache-dir", root], {
    env: { ...process.env, MCM_DB: db, NO_COLOR: "1", ...failpointEnv(fp, POINT) },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const done = outputOf(child);
  assert.ok(await reached(fp, POINT), "relocate never reached its first write");
  race(child.pid as number);
  for (let i = 1; i <= 500; i++) release(fp, POINT, i);
  return done;
}

describe("relocate in a hostile cache folder", () => {
  it("links planted at the temp names a relocate would use (its pid is public) are never followed", async () => {
    const { db, root } = setup();
    const victim = join(tempDir(), "victim");
    writeFileSync(victim, "precious");
    const r = await relocateRacing(db, root, (pid) => {
      for (const k of kernelFolders(root)) {
        for (const g of groupsOf(join(root, k))) symlinkSync(victim, join(root, k, `.mcm-tmp-${pid}-${g}`));
      }
    });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(readFileSync(victim, "utf8"), "precious");
    for (const k of kernelFolders(root)) {
      for (const g of groupsOf(join(root, k)))
        assert.ok(lstatSync(join(root, k, g)).isFile(), `${k}/${g} became a link`);
    }
  });

  it("a kernel folder swapped for a link after the plan: the folder it points at is not written", async () => {
    const { db, root } = setup();
    const outside = tempDir();
    const keys = kernelFolders(root);
    const r = await relocateRacing(db, root, () => {
      for (const k of keys) {
        cpSync(join(root, k), join(outside, k), { recursive: true });
        renameSync(join(root, k), join(tempDir(), k));
        symlinkSync(join(outside, k), join(root, k));
      }
    });
    assert.equal(r.code === 0 || r.code === 2, true, r.stderr);
    for (const k of keys) {
      for (const g of groupsOf(join(outside, k))) {
        assert.doesNotMatch(readFileSync(join(outside, k, g), "utf8"), new RegExp(root), `${k}/${g} was rewritten`);
      }
    }
  });

  it("a group file that is a FIFO or a link to /dev/zero: relocate neither hangs nor reads it", () => {
    const { db, root } = setup();
    const [a, b] = kernelFolders(root) as [string, string];
    const ga = join(root, a, groupsOf(join(root, a))[0] as string);
    const gb = join(root, b, groupsOf(join(root, b))[0] as string);
    unlinkSync(ga);
    assert.equal(spawnSync("mkfifo", [ga]).status, 0);
    unlinkSync(gb);
    symlinkSync("/dev/zero", gb);
    const r = mcm(["relocate", "-y", "--cache-dir", root], { db, spawn: { timeout: 60_000 } });
    assert.equal(r.code, 0, r.stderr);
    assert.ok(lstatSync(ga).isFIFO() && lstatSync(gb).isSymbolicLink(), "planted files are left as they are");
  });
});
