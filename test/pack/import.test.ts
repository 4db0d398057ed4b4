import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { exportArchive } from "../../src/pack/export.js";
import { ArchiveRefused, importArchive } from "../../src/pack/import.js";
import type { Manifest } from "../../src/pack/manifest.js";
import { writeTarGz } from "../../src/pack/tar.js";
import { cleanupTemp, extractFixture, tempDir } from "../helpers/fixtures.js";
import { type RawEntry, readEntries, writeRawTarGz } from "../helpers/tar.js";
import { kernelFolders, snapshot } from "../helpers/tree.js";

after(cleanupTemp);

async function fixtureArchive() {
  const root = extractFixture("triton-cache");
  const archive = join(tempDir(), "triton.tgz");
  const r = await exportArchive({ root, out: archive });
  return { root, archive, manifest: r.manifest };
}

/** Every child path of every group file under `root`. */
function groupPaths(root: string): string[] {
  const out: string[] = [];
  for (const k of kernelFolders(root)) {
    for (const f of readdirSync(join(root, k)).filter((n) => n.startsWith("__grp__"))) {
      const g = JSON.parse(readFileSync(join(root, k, f), "utf8")) as { child_paths: Record<string, string> };
      out.push(...Object.values(g.child_paths));
    }
  }
  return out;
}

/** One kernel of the fixture as raw entries, plus whatever `extra` adds. */
/** Two kernels of the fixture (add_kernel: `key`, softmax_kernel: `other`) as a plain tarball, plus `extra`. */
async function plainWith(extra: RawEntry[]): Promise<{ archive: string; key: string; other: string }> {
  const { archive } = await fixtureArchive();
  const all = (await readEntries(archive)).filter((e) => e.name !== "mcm-manifest.json");
  const keyOf = (name: string) => all.find((e) => e.name.includes(`__grp__${name}`))?.name.split("/")[0] as string;
  const key = keyOf("add_kernel");
  const other = keyOf("softmax_kernel");
  const kernels = all.filter((e) => e.name.startsWith(`${key}/`) || e.name.startsWith(`${other}/`));
  const out = join(tempDir(), "crafted.tgz");
  writeRawTarGz(out, [...kernels, ...extra]);
  return { archive: out, key, other };
}

describe("importArchive", () => {
  it("imports an mcm archive, verifies every sha256 and points group files at the destination", async () => {
    const { root, archive, manifest } = await fixtureArchive();
    const dest = join(tempDir(), "new", "cache");
    const r = await importArchive(archive, dest, { dryRun: false });
    assert.equal(r.format, "mcm");
    assert.equal(r.verified, true);
    assert.equal(r.layout, "triton");
    assert.equal(r.kernels.added.length, 14);
    assert.equal(r.groupFilesRewritten, 14);
    assert.equal(r.files, manifest.totals.files);
    assert.equal(r.bytes, manifest.totals.bytes);
    assert.deepEqual(r.refused, []);
    const paths = groupPaths(dest);
    assert.ok(paths.length >= 14 * 7);
    for (const p of paths) {
      assert.ok(p.startsWith(`${dest}/`), p);
      assert.ok(existsSync(p), p);
    }
    // everything but the group files is byte for byte the original
    const same = (d: string) => snapshot(d).filter((l) => !l.includes("__grp__"));
    assert.deepEqual(same(dest), same(root));
    assert.ok(!readdirSync(dest).some((n) => n.startsWith(".mcm")), "no staging folder left");
  });

  it("is idempotent: a second import skips every kernel and writes nothing", async () => {
    const { archive } = await fixtureArchive();
    const dest = tempDir();
    await importArchive(archive, dest, { dryRun: false });
    const before = snapshot(dest);
    const r = await importArchive(archive, dest, { dryRun: false });
    assert.equal(r.kernels.added.length, 0);
    assert.equal(r.kernels.identical.length, 14);
    assert.equal(r.others.added, 0);
    assert.equal(r.files, 0);
    assert.deepEqual(r.kernels.conflicting, []);
    assert.deepEqual(snapshot(dest), before);
  });

  it("reports a kernel present with other content and leaves it untouched", async () => {
    const { archive } = await fixtureArchive();
    const dest = tempDir();
    await importArchive(archive, dest, { dryRun: false });
    const [key] = kernelFolders(dest);
    const cubin = readdirSync(join(dest, key as string)).find((f) => f.endsWith(".cubin")) as string;
    writeFileSync(join(dest, key as string, cubin), "not the archive's cubin");
    const r = await importArchive(archive, dest, { dryRun: false });
    assert.deepEqual(
      r.kernels.conflicting.map((c) => c.path),
      [key],
    );
    assert.match(r.kernels.conflicting[0]?.reason ?? "", /1 file differ/);
    assert.equal(readFileSync(join(dest, key as string, cubin), "utf8"), "not the archive's cubin");
    assert.equal(r.kernels.identical.length, 13);
  });

  it("adds what is missing beside what is there", async () => {
    const { archive } = await fixtureArchive();
    const dest = tempDir();
    await importArchive(archive, dest, { dryRun: false });
    const [key] = kernelFolders(dest);
    execFileSync("rm", ["-rf", join(dest, key as string)]);
    const r = await importArchive(archive, dest, { dryRun: false });
    assert.deepEqual(r.kernels.added, [key]);
    assert.equal(r.kernels.identical.length, 13);
  });

  it("dry run: the same report, nothing written (not even the destination folder)", async () => {
    const { archive } = await fixtureArchive();
    const dest = join(tempDir(), "dest");
    const dry = await importArchive(archive, dest, { dryRun: true });
    assert.equal(existsSync(dest), false);
    const real = await importArchive(archive, dest, { dryRun: false });
    assert.deepEqual({ ...dry, dryRun: false }, real);
    mkdirSync(join(tempDir(), "x"));
    const before = snapshot(dest);
    await importArchive(archive, dest, { dryRun: true });
    assert.deepEqual(snapshot(dest), before);
  });

  for (const [what, extra, reason] of [
    ["an absolute path", (_k: string, t: string) => [{ name: `${t}/evil.txt`, data: "x" }], /absolute path/],
    ["'..'", (k: string) => [{ name: `${k}/../../evil.txt`, data: "x" }], /'\.\.'/],
    [
      "a symlink leaving the destination",
      (k: string) => [{ name: `${k}/add_kernel.ptx.link`, flag: "2", linkname: "../../../etc/passwd" }],
      /symbolic link leaving/,
    ],
    [
      "a symlink to an absolute path",
      (k: string) => [{ name: `${k}/abs.link`, flag: "2", linkname: "/etc/passwd" }],
      /absolute path/,
    ],
    [
      "a hard link leaving the destination",
      (k: string) => [{ name: `${k}/hard`, flag: "1", linkname: "../../etc/passwd" }],
      /hard link/,
    ],
    ["a character device", (k: string) => [{ name: `${k}/null`, flag: "3" }], /device/],
    ["a fifo", (k: string) => [{ name: `${k}/pipe`, flag: "6" }], /fifo/],
    [
      "a path through a symlink",
      (k: string) => [
        { name: "inner", flag: "2", linkname: `${k}` },
        { name: "inner/sneaky.txt", data: "x" },
      ],
      /link or a file/,
    ],
  ] as [string, (key: string, tmp: string) => RawEntry[], RegExp][]) {
    it(`refuses ${what}; the kernel holding it is left out, the rest imported`, async () => {
      const tmp = tempDir();
      const outside = join(tmp, "outside");
      mkdirSync(outside);
      const { archive: base, key, other } = await plainWith([]);
      const all = await readEntries(base);
      const crafted = writeRawTarGz(join(tmp, "c.tgz"), [...all, ...extra(key, outside)]);
      // a second, clean kernel in a folder of its own is still imported
      const dest = join(tmp, "dest");
      const r = await importArchive(crafted, dest, { dryRun: false });
      assert.equal(r.refused.length, 1);
      assert.match(r.refused[0]?.reason ?? "", reason);
      assert.deepEqual(snapshot(outside), [], "nothing written outside");
      assert.equal(existsSync(join(tmp, "evil.txt")), false);
      assert.equal(existsSync(join(dest, "..", "evil.txt")), false);
      const tainted = r.refused[0]?.entry.startsWith(`${key}/`) && !r.refused[0]?.entry.includes("..");
      assert.equal(existsSync(join(dest, key)), !tainted, "a kernel with a refused entry is left out whole");
      assert.deepEqual(r.kernels.added, tainted ? [other] : [key, other].sort());
      assert.ok(existsSync(join(dest, other, "softmax_kernel.cubin")), "the clean kernel is imported");
    });
  }

  it("accepts a symlink that stays inside the kernel, made after every file", async () => {
    const { archive, key } = await plainWith([]);
    const tmp = tempDir();
    const all = await readEntries(archive);
    const crafted = writeRawTarGz(join(tmp, "c.tgz"), [
      ...all,
      { name: `${key}/alias.ptx`, flag: "2", linkname: "add_kernel.ptx" },
    ]);
    const dest = join(tmp, "dest");
    const r = await importArchive(crafted, dest, { dryRun: false });
    assert.deepEqual(r.refused, []);
    assert.equal(readlinkSync(join(dest, key, "alias.ptx")), "add_kernel.ptx");
    assert.ok(lstatSync(join(dest, key, "alias.ptx")).isSymbolicLink());
  });

  it("takes links and folders whose size field lies to carry nothing: the entries after them import whole", async () => {
    const { archive, key, other } = await plainWith([]);
    const tmp = tempDir();
    const all = await readEntries(archive);
    const at = all.findIndex((e) => e.name.startsWith(`${other}/`));
    const crafted = writeRawTarGz(join(tmp, "c.tgz"), [
      ...all.slice(0, at),
      { name: `${key}/alias.ptx`, flag: "2", linkname: "add_kernel.ptx", size: 900 },
      { name: "notes/", flag: "5", size: 1700 },
      ...all.slice(at),
    ]);
    const dest = join(tmp, "dest");
    const r = await importArchive(crafted, dest, { dryRun: false });
    assert.deepEqual(r.refused, []);
    assert.deepEqual(r.kernels.added, [key, other].sort());
    assert.equal(readlinkSync(join(dest, key, "alias.ptx")), "add_kernel.ptx");
    assert.ok(lstatSync(join(dest, "notes")).isDirectory());
    for (const e of all.filter((x) => x.name.startsWith(`${other}/`) && x.flag === "0")) {
      if (e.name.includes("__grp__")) continue; // pointed at the destination
      assert.deepEqual(readFileSync(join(dest, e.name)), Buffer.from(e.data ?? ""), e.name);
    }
  });

  it("makes a hard link inside the archive a hard link inside the destination", async () => {
    const { archive, key } = await plainWith([]);
    const tmp = tempDir();
    const all = await readEntries(archive);
    const crafted = writeRawTarGz(join(tmp, "c.tgz"), [
      ...all,
      { name: `${key}/copy.ptx`, flag: "1", linkname: `${key}/add_kernel.ptx` },
    ]);
    const dest = join(tmp, "dest");
    const r = await importArchive(crafted, dest, { dryRun: false });
    assert.deepEqual(r.refused, []);
    assert.equal(lstatSync(join(dest, key, "copy.ptx")).ino, lstatSync(join(dest, key, "add_kernel.ptx")).ino);
  });

  describe("an mcm archive that disagrees with its manifest is refused whole, nothing written", () => {
    async function tampered(change: (entries: RawEntry[], m: Manifest) => RawEntry[]): Promise<string> {
      const { archive } = await fixtureArchive();
      const entries = await readEntries(archive);
      const m = JSON.parse(String(entries[0]?.data)) as Manifest;
      const rest = change(entries.slice(1), m);
      return writeRawTarGz(join(tempDir(), "t.tgz"), [{ name: "mcm-manifest.json", data: JSON.stringify(m) }, ...rest]);
    }
    const refusedWhole = async (archive: string, message: RegExp) => {
      const dest = join(tempDir(), "dest");
      await assert.rejects(importArchive(archive, dest, { dryRun: false }), (e: unknown) => {
        assert.ok(e instanceof ArchiveRefused);
        assert.match((e as Error).message, message);
        return true;
      });
      assert.equal(existsSync(dest), false, "the destination was never made");
      const existing = tempDir();
      writeFileSync(join(existing, "keep"), "x");
      await assert.rejects(importArchive(archive, existing, { dryRun: false }), ArchiveRefused);
      assert.deepEqual(snapshot(existing), ["keep 1"]);
    };

    it("a size that differs from the manifest", async () => {
      const a = await tampered((es, m) => {
        const f = m.files.find((x) => x.path.endsWith(".cubin"));
        if (f) f.size += 1;
        return es;
      });
      await refusedWhole(a, /holds \d+ bytes, the manifest says/);
    });

    it("a checksum mismatch (same size, other bytes)", async () => {
      const a = await tampered((es) =>
        es.map((e) => {
          if (!e.name.endsWith(".ptx") || !e.data) return e;
          const d = Buffer.from(e.data);
          d[10] = (d[10] as number) ^ 1;
          return { ...e, data: d };
        }),
      );
      await refusedWhole(a, /checksum mismatch/);
    });

    it("a checksum mismatch when the manifest comes last (checked once the whole archive is read)", async () => {
      const { archive } = await fixtureArchive();
      const [manifest, ...rest] = await readEntries(archive);
      assert.equal(manifest?.name, "mcm-manifest.json");
      let changed = "";
      const altered = rest.map((e) => {
        if (changed || !e.name.endsWith(".cubin") || !e.data) return e;
        changed = e.name;
        const d = Buffer.from(e.data);
        d[10] = (d[10] as number) ^ 1;
        return { ...e, data: d };
      });
      assert.ok(changed);
      const a = writeRawTarGz(join(tempDir(), "last.tgz"), [...altered, manifest as RawEntry]);
      await refusedWhole(a, new RegExp(`checksum mismatch for ${changed.replace(/[.]/g, "\\.")} `));
    });

    it("a file the manifest lists but the archive lacks", async () => {
      const a = await tampered((es) => es.filter((e) => !e.name.endsWith(".cubin")));
      await refusedWhole(a, /missing/);
    });

    it("a link where the manifest lists a file, the manifest first or last", async () => {
      const asLink = (es: RawEntry[]) =>
        es.map((e) => (e.name.endsWith(".ptx") ? { name: e.name, flag: "2", linkname: "x.cubin" } : e));
      await refusedWhole(await tampered(asLink), /is a link where the manifest lists a file/);
      const [manifest, ...rest] = await readEntries((await fixtureArchive()).archive);
      const last = writeRawTarGz(join(tempDir(), "last.tgz"), [...asLink(rest), manifest as RawEntry]);
      await refusedWhole(last, /is a link where the manifest lists a file/);
    });

    it("a file the manifest lists but the archive lacks, the manifest last", async () => {
      const [manifest, ...rest] = await readEntries((await fixtureArchive()).archive);
      const kept = rest.filter((e) => !e.name.endsWith(".cubin"));
      const a = writeRawTarGz(join(tempDir(), "last.tgz"), [...kept, manifest as RawEntry]);
      await refusedWhole(a, /files? listed in the manifest are missing \(first: [^)]+\.cubin\)/);
    });

    it("the manifest in the middle: the entries on either side of it are checked", async () => {
      const [manifest, ...rest] = await readEntries((await fixtureArchive()).archive);
      const half = Math.floor(rest.length / 2);
      const middle = (es: RawEntry[]) => [...es.slice(0, half), manifest as RawEntry, ...es.slice(half)];
      const good = writeRawTarGz(join(tempDir(), "mid.tgz"), middle(rest));
      const r = await importArchive(good, join(tempDir(), "dest"), { dryRun: false });
      assert.equal(r.verified, true);
      assert.ok(r.kernels.added.length > 0);
      const flip = (which: "before" | "after") => {
        const es = rest.map((e) => ({ ...e }));
        const i = es.findIndex((e, k) => (which === "before" ? k < half : k >= half) && e.data && e.data.length > 10);
        const e = es[i] as RawEntry;
        const d = Buffer.from(e.data as Buffer | string);
        d[5] = (d[5] as number) ^ 1;
        es[i] = { ...e, data: d };
        return { name: e.name, archive: writeRawTarGz(join(tempDir(), `${which}.tgz`), middle(es)) };
      };
      for (const which of ["before", "after"] as const) {
        const f = flip(which);
        await refusedWhole(f.archive, new RegExp(`checksum mismatch for ${f.name.replace(/[.]/g, "\\.")} `));
      }
      const sized = rest.map((e) =>
        e.name.endsWith(".cubin") && e.data
          ? { ...e, data: Buffer.concat([Buffer.from(e.data), Buffer.from("x")]) }
          : e,
      );
      await refusedWhole(
        writeRawTarGz(join(tempDir(), "sized.tgz"), middle(sized)),
        /holds \d+ bytes, the manifest says/,
      );
      const unlisted = [{ name: "extra.txt", data: "x" }, ...rest];
      await refusedWhole(writeRawTarGz(join(tempDir(), "extra.tgz"), middle(unlisted)), /extra\.txt is not listed/);
    });

    it("a file the manifest does not list", async () => {
      const a = await tampered((es) => [...es, { name: "extra.txt", data: "x" }]);
      await refusedWhole(a, /not listed in the archive's manifest/);
    });

    it("an unsafe entry in an mcm archive", async () => {
      const a = await tampered((es) => [...es, { name: "../evil", data: "x" }]);
      await refusedWhole(a, /unsafe entr/);
    });
  });

  it("imports a plain `tar czf` of a cache folder, either way it was made", async () => {
    const root = extractFixture("triton-cache");
    const tmp = tempDir();
    execFileSync("tar", ["czf", join(tmp, "parent.tgz"), "-C", join(root, ".."), "triton-cache"]);
    execFileSync("tar", ["czf", join(tmp, "dot.tgz"), "-C", root, "."]);
    for (const name of ["parent.tgz", "dot.tgz"]) {
      const dest = join(tmp, name.replace(".tgz", ""));
      const r = await importArchive(join(tmp, name), dest, { dryRun: false });
      assert.equal(r.format, "plain");
      assert.equal(r.verified, false);
      assert.equal(r.kernels.added.length, 14);
      assert.deepEqual(readdirSync(dest).sort(), readdirSync(root).sort());
      for (const p of groupPaths(dest)) assert.ok(p.startsWith(`${dest}/`) && existsSync(p), p);
    }
  });

  it("imports an MCV-style layer: the cache under io.triton.cache/, its manifest ignored", async () => {
    const root = extractFixture("triton-cache");
    const entries = snapshot(root).map((l) => l.split(" ")[0] as string);
    const archive = join(tempDir(), "mcv.tgz");
    await writeTarGz(
      [
        ...entries.map((p) => ({ name: `io.triton.cache/${p}`, type: "file" as const, source: join(root, p) })),
        { name: "io.triton.manifest/manifest.json", type: "file", data: Buffer.from("{}") },
      ],
      archive,
    );
    const dest = join(tempDir(), "dest");
    const r = await importArchive(archive, dest, { dryRun: false });
    assert.equal(r.format, "mcv");
    assert.equal(r.root, "io.triton.cache");
    assert.deepEqual(r.ignored, ["io.triton.manifest/manifest.json"]);
    assert.equal(r.kernels.added.length, 14);
    assert.deepEqual(readdirSync(dest).sort(), readdirSync(root).sort());
  });

  it("imports vLLM and Inductor archives into their layout", async () => {
    for (const name of ["vllm-cache", "torchinductor_root"] as const) {
      const root = extractFixture(name);
      const archive = join(tempDir(), "a.tgz");
      await exportArchive({ root, out: archive });
      const dest = join(tempDir(), "dest");
      const r = await importArchive(archive, dest, { dryRun: false });
      assert.equal(r.layout, name === "vllm-cache" ? "vllm" : "inductor");
      assert.equal(r.kernels.added.length, 55);
      const same = (d: string) => snapshot(d).filter((l) => !l.includes("__grp__"));
      assert.deepEqual(same(dest), same(root));
    }
  });
});
