// SQLite failures of the index database: one line naming it, exit 2, the index
// intact. "Full" is a real 2 MiB tmpfs, mounted in a user and mount namespace.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import Database from "better-sqlite3";
import { databaseError } from "../../src/db/errors.js";
import { dbIn, mcm } from "../helpers/cli.js";
import { cleanupTemp, extractFixture, tempDir } from "../helpers/fixtures.js";

after(cleanupTemp);

const BIN = new URL("../../bin/mcm", import.meta.url).pathname;
const canMount = spawnSync("unshare", ["-Urm", "sh", "-c", "mount -t tmpfs none /mnt"]).status === 0;

describe("a full database filesystem", { skip: !canMount && "cannot mount a tmpfs (unshare -Urm)" }, () => {
  it("indexing into it is one error line naming the database; freed space, the next run works", () => {
    const root = extractFixture("triton-cache");
    const empty = tempDir();
    const mnt = join(tempDir(), "small");
    mkdirSync(mnt);
    const db = join(mnt, "index.db");
    const mcm = `"${process.execPath}" "${BIN}" --db "${db}"`;
    // a database first, then every free block taken but 64 KiB: the index outgrows it
    const script = `set -e
      mount -t tmpfs -o size=2m none "${mnt}"
      ${mcm} index --cache-dir "${empty}" >/dev/null
      dd if=/dev/zero of="${mnt}/fill" bs=4k 2>/dev/null || true
      truncate -s -64k "${mnt}/fill"
      set +e
      ${mcm} index --cache-dir "${root}" 2>&1 >/dev/null; echo "full rc=$?"
      rm "${mnt}/fill"
      ${mcm} index --cache-dir "${root}" >/dev/null && ${mcm} list --json | grep -c '"hash":'`;
    const r = spawnSync("unshare", ["-Urm", "sh", "-c", script], {
      encoding: "utf8",
      env: { ...process.env, NO_COLOR: "1" },
    });
    const [err, rc, again] = r.stdout.split("\n");
    assert.equal(rc, "full rc=2", r.stdout + r.stderr);
    assert.equal(
      err,
      `mcm: the index database ${db} is full: its filesystem has no space left (SQLITE_FULL); free some or use --db elsewhere`,
    );
    assert.equal(again, "14", r.stdout + r.stderr);
  });
});

describe("a database mcm cannot write or read", () => {
  it("read-only: one line saying so, not an unexpected error", () => {
    const dir = tempDir();
    const db = dbIn(dir);
    assert.equal(mcm(["index", "--cache-dir", tempDir()], { db }).code, 0);
    for (const f of [`${db}-wal`, `${db}-shm`]) rmSync(f, { force: true });
    chmodSync(db, 0o444);
    const r = mcm(["index", "--cache-dir", extractFixture("triton-cache")], { db, obeyPermissions: true });
    assert.equal(r.code, 2);
    assert.equal(
      r.stderr,
      `mcm: the index database ${db} is read-only (SQLITE_READONLY): check its permissions, or use --db elsewhere\n`,
    );
  });

  it("not a database: one line saying so", () => {
    const db = join(tempDir(), "notes.txt");
    writeFileSync(db, "not sqlite, but long enough to have a header ".repeat(20));
    const r = mcm(["list"], { db });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^mcm: \/.*notes\.txt is not an SQLite database \(SQLITE_NOTADB\)[^\n]*\n$/);
  });
});

describe("databaseError", () => {
  it("maps a real SQLITE_FULL (max_page_count, where no tmpfs can be mounted); other errors are not its", () => {
    const path = dbIn(tempDir());
    const db = new Database(path);
    db.exec("CREATE TABLE t (x TEXT)");
    db.pragma("max_page_count = 8");
    let full: unknown;
    try {
      for (let i = 0; i < 100; i++) db.prepare("INSERT INTO t VALUES (?)").run("x".repeat(4000));
    } catch (e) {
      full = e;
    }
    db.close();
    assert.equal((full as { code?: string }).code, "SQLITE_FULL");
    assert.match(databaseError(full, path)?.message ?? "", /^the index database .* is full: .*\(SQLITE_FULL\)/);
    assert.equal(databaseError(new Error("x"), path), undefined);
    assert.equal(databaseError(null, path), undefined);
  });
});
