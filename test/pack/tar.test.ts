import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { gzipSync } from "node:zlib";
import { McmError } from "../../src/core/errors.js";
import { type TarEntry, writeTarGz } from "../../src/pack/tar.js";
import { readTar, type TarHeader } from "../../src/pack/tar-read.js";
import { cleanupTemp, tempDir } from "../helpers/fixtures.js";
import { rawTar, readEntries, writeRawTarGz } from "../helpers/tar.js";

after(cleanupTemp);

const LONG = `${"d".repeat(120)}/${"f".repeat(90)}.txt`; // ustar prefix + name
const LONGER = `${"x".repeat(150)}/${"z".repeat(150)}/é.bin`; // needs a pax header

function entries(dir: string): TarEntry[] {
  writeFileSync(join(dir, "src.bin"), Buffer.alloc(70_000, 7));
  return [
    { name: "b.txt", type: "file", data: Buffer.from("hello\n") },
    { name: "a", type: "dir" },
    { name: "a/run.sh", type: "file", data: Buffer.from("#!/bin/sh\n"), mode: 0o100775 },
    { name: "a/from-disk.bin", type: "file", source: join(dir, "src.bin"), size: 70_000 },
    { name: LONG, type: "file", data: Buffer.from("long") },
    { name: LONGER, type: "file", data: Buffer.alloc(1000, 1) },
  ];
}

async function headers(path: string): Promise<(TarHeader & { text: string })[]> {
  const out: (TarHeader & { text: string })[] = [];
  await readTar(path, (h) => {
    const parts: Buffer[] = [];
    return (c) => {
      if (c) parts.push(Buffer.from(c));
      else out.push({ ...h, text: Buffer.concat(parts).toString("utf8") });
    };
  });
  return out;
}

describe("writeTarGz", () => {
  it("gives the same bytes for the same entries, in any order", async () => {
    const dir = tempDir();
    const list = entries(dir);
    const a = await writeTarGz(list, join(dir, "a.tgz"));
    const b = await writeTarGz([...list].reverse(), join(dir, "b.tgz"));
    assert.equal(a.sha256, b.sha256);
    assert.deepEqual(readFileSync(join(dir, "a.tgz")), readFileSync(join(dir, "b.tgz")));
    assert.equal(a.bytes, readFileSync(join(dir, "a.tgz")).length);
    const gz = readFileSync(join(dir, "a.tgz"));
    assert.deepEqual([...gz.subarray(3, 8)], [0, 0, 0, 0, 0], "no name flag, mtime 0");
    assert.equal(gz[9], 3, "a fixed OS byte");
  });

  it("writes sorted entries with mtime 0, uid/gid 0, normalised modes; GNU tar reads them, long names included", async () => {
    const dir = tempDir();
    await writeTarGz(entries(dir), join(dir, "a.tgz"), {
      head: [{ name: "mcm-manifest.json", type: "file", data: Buffer.from("{}") }],
    });
    const listing = execFileSync("tar", ["tvzf", join(dir, "a.tgz"), "--numeric-owner", "--full-time"], {
      encoding: "utf8",
    })
      .trim()
      .split("\n");
    const names = listing.map((l) => l.split(/\s+/).slice(5).join(" "));
    assert.deepEqual(names, ["mcm-manifest.json", "a/", "a/from-disk.bin", "a/run.sh", "b.txt", LONG, LONGER]);
    for (const l of listing) assert.match(l, /^\S+ 0\/0 +\d+ 1970-01-01 00:00:00 /);
    assert.match(listing[1] as string, /^drwxr-xr-x/);
    assert.match(listing[3] as string, /^-rwxr-xr-x/, "exec bit kept");
    assert.match(listing[4] as string, /^-rw-r--r--/);
    const out = join(dir, "x");
    mkdirSync(out);
    execFileSync("tar", ["xzf", join(dir, "a.tgz"), "-C", out]);
    assert.equal(readFileSync(join(out, LONG), "utf8"), "long");
    assert.equal(readFileSync(join(out, LONGER)).length, 1000);
    assert.equal(readFileSync(join(out, "a/from-disk.bin")).length, 70_000);
  });

  it("refuses a source whose size changed, and leaves no file at the output path", async () => {
    const dir = tempDir();
    writeFileSync(join(dir, "f"), "12345");
    await assert.rejects(
      writeTarGz([{ name: "f", type: "file", source: join(dir, "f"), size: 3 }], join(dir, "out.tgz")),
      /changed while it was archived/,
    );
    assert.deepEqual(
      execFileSync("ls", ["-A", dir], { encoding: "utf8" }).trim().split("\n"),
      ["f"],
      "no temp file left",
    );
  });

  it("refuses names that leave the archive", async () => {
    const dir = tempDir();
    for (const name of ["/abs", "a/../../b", ""]) {
      await assert.rejects(
        writeTarGz([{ name, type: "file", data: Buffer.from("") }], join(dir, "o.tgz")),
        /bad archive entry name/,
      );
    }
  });
  it("names a link to an entry given an id by nameOf(id), and refuses ids with no nameOf", async () => {
    const dir = tempDir();
    const same = () => Buffer.from("same bytes\n");
    const list: TarEntry[] = [
      { name: "a.bin", type: "file", data: same(), id: 7 },
      { name: "b.bin", type: "file", data: same(), id: 8 },
    ];
    const names = new Map([[7, "a.bin"]]);
    await writeTarGz(list, join(dir, "l.tgz"), { linkIdentical: true, nameOf: (id) => names.get(id) ?? "?" });
    const hs = await headers(join(dir, "l.tgz"));
    assert.deepEqual(
      hs.map((h) => [h.name, h.type, h.linkname]),
      [
        ["a.bin", "file", ""],
        ["b.bin", "hardlink", "a.bin"],
      ],
    );
    await assert.rejects(writeTarGz(list, join(dir, "m.tgz"), { linkIdentical: true }), McmError);
  });
});

describe("readTar", () => {
  it("reads what it writes: names, types, modes, content", async () => {
    const dir = tempDir();
    await writeTarGz(entries(dir), join(dir, "a.tgz"));
    const hs = await headers(join(dir, "a.tgz"));
    assert.deepEqual(
      hs.map((h) => [h.name, h.type, h.size]),
      [
        ["a/", "dir", 0],
        ["a/from-disk.bin", "file", 70_000],
        ["a/run.sh", "file", 10],
        ["b.txt", "file", 6],
        [LONG, "file", 4],
        [LONGER, "file", 1000],
      ],
    );
    assert.equal(hs[2]?.mode, 0o755);
    assert.equal(hs[3]?.text, "hello\n");
  });

  for (const format of ["gnu", "pax", "ustar"]) {
    it(`reads GNU tar's ${format} format: long names, links, plain (uncompressed) tar`, async () => {
      const dir = tempDir();
      const deep = `${"y".repeat(80)}/${"w".repeat(60)}`;
      mkdirSync(join(dir, "g", deep), { recursive: true });
      writeFileSync(join(dir, "g", deep, "file.txt"), "hi");
      execFileSync("ln", ["-s", "../elsewhere", join(dir, "g", "link")]);
      execFileSync("tar", [`--format=${format}`, "-cf", join(dir, "g.tar"), "-C", dir, "g"]);
      const hs = await headers(join(dir, "g.tar"));
      const file = hs.find((h) => h.type === "file");
      assert.equal(file?.name, `g/${deep}/file.txt`);
      assert.equal(file?.text, "hi");
      const link = hs.find((h) => h.type === "symlink");
      assert.equal(link?.linkname, "../elsewhere");
    });
  }

  it("says so when the archive is truncated or not a tar", async () => {
    const dir = tempDir();
    await writeTarGz(entries(dir), join(dir, "a.tgz"));
    const whole = readFileSync(join(dir, "a.tgz"));
    writeFileSync(join(dir, "cut.tgz"), whole.subarray(0, Math.floor(whole.length / 2)));
    await assert.rejects(headers(join(dir, "cut.tgz")), /cannot read|truncated/);
    writeFileSync(join(dir, "junk.tar"), Buffer.alloc(2048, 0x41));
    await assert.rejects(headers(join(dir, "junk.tar")), /not a valid tar archive/);
  });

  it("says the archive is truncated when a whole gzip stream holds a tar that stops inside an entry", async () => {
    const dir = tempDir();
    const tar = rawTar([
      { name: "a.txt", data: "first\n" },
      { name: "b.bin", data: Buffer.alloc(3000, 9) },
    ]);
    const truncated = { name: "McmError", message: "the archive is truncated (it ends inside an entry)" };
    // gunzip reads these to their end without complaint: only the tar reader can tell
    for (const [what, end] of [
      ["inside a file's content", 512 + 512 + 512 + 1000],
      ["inside a header", 512 + 512 + 200],
    ] as [string, number][]) {
      const path = join(dir, "cut.tgz");
      writeFileSync(path, gzipSync(tar.subarray(0, end)));
      await assert.rejects(headers(path), (e: unknown) => {
        assert.ok(e instanceof McmError, what);
        assert.deepEqual({ name: e.name, message: e.message }, truncated, what);
        return true;
      });
    }
  });

  it("takes a link or a folder whose size field is not zero to carry no content", async () => {
    const dir = tempDir();
    const path = writeRawTarGz(join(dir, "lying.tgz"), [
      { name: "d/", flag: "5", size: 700 },
      { name: "d/link", flag: "2", linkname: "f.txt", size: 1300 },
      { name: "d/hard", flag: "1", linkname: "d/g.txt", size: 20 },
      { name: "d/f.txt", data: "the file after the links\n" },
      { name: "d/g.txt", data: Buffer.alloc(1500, 3) },
    ]);
    const hs = await headers(path);
    assert.deepEqual(
      hs.map((h) => [h.name, h.type, h.size]),
      [
        ["d/", "dir", 0],
        ["d/link", "symlink", 0],
        ["d/hard", "hardlink", 0],
        ["d/f.txt", "file", 25],
        ["d/g.txt", "file", 1500],
      ],
    );
    assert.equal(hs[3]?.text, "the file after the links\n");
    assert.deepEqual((await readEntries(path)).at(-1)?.data, Buffer.alloc(1500, 3));
  });
});
