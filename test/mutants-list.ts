// biome-ignore-all lint/suspicious/noTemplateCurlyInString: the mutants quote source text, template literals included
// The mutants `npm run mutants` applies: one behaviour each, and the tests
// that must fail without it. `from` must occur exactly once in `file`.
export interface Mutant {
  id: string;
  what: string;
  file: string;
  from: string;
  to: string;
  tests: string[];
}

export const MUTANTS: Mutant[] = [
  {
    id: "M03",
    what: "apply: a kernel folder swapped for a link since the plan is pruned through the link",
    file: "src/prune/apply.ts",
    from: "if (!st.isDirectory() || realParent(dirname(e.path)) !== dirname(e.path)) {",
    to: "if (realParent(dirname(e.path)) !== dirname(e.path)) {",
    tests: ["test/prune/apply.test.ts"],
  },
  {
    id: "M03b",
    what: "apply: a cache root swapped for a link since the plan is pruned through the link",
    file: "src/prune/apply.ts",
    from: "if (!st.isDirectory() || realParent(dirname(e.path)) !== dirname(e.path)) {",
    to: "if (!st.isDirectory()) {",
    tests: ["test/prune/apply.test.ts"],
  },
  {
    id: "M04",
    what: "--link: a file that changed since the plan is replaced by a link to its old twin",
    file: "src/prune/apply.ts",
    from: "if (!a?.isFile() || !b?.isFile() || a.size !== b.size) {",
    to: "if (!a?.isFile() || !b?.isFile()) {",
    tests: ["test/prune/apply.test.ts"],
  },
  {
    id: "M05",
    what: "--deduplicate: metadata must be identical including `hash` (a re-keyed compile is no duplicate)",
    file: "src/prune/fingerprint.ts",
    from: "    delete parsed.hash;\n",
    to: "",
    tests: ["test/commands/prune.test.ts"],
  },
  {
    id: "M05b",
    what: "--deduplicate: metadata ignored (another specialisation with the same binary counts as a duplicate)",
    file: "src/prune/fingerprint.ts",
    from: ".update(JSON.stringify(canonical(parsed)));",
    to: '.update("");',
    tests: ["test/commands/prune.test.ts"],
  },
  {
    id: "M22",
    what: "--cache-dir /x/cache also selects /x/cache2's kernels",
    file: "src/db/index.ts",
    from: "a.push(f.cacheDir, f.cacheDir.length + 1, `${f.cacheDir}/`);",
    to: "a.push(f.cacheDir, f.cacheDir.length, f.cacheDir);",
    tests: ["test/commands/list.test.ts"],
  },
  {
    id: "M22b",
    what: "--cache-dir /x/cache2 is taken to be inside the indexed root /x/cache",
    file: "src/db/index.ts",
    from: "dir.startsWith(`${r.path}/`)",
    to: "dir.startsWith(r.path)",
    tests: ["test/commands/list.test.ts"],
  },
  {
    id: "M22c",
    what: "stats --cache-dir /x/cache counts /x/cache2's non-kernel entries",
    file: "src/db/index.ts",
    from: "const args = cacheDir ? [cacheDir, cacheDir.length + 1, `${cacheDir}/`] : [];",
    to: "const args = cacheDir ? [cacheDir, cacheDir.length, cacheDir] : [];",
    tests: ["test/commands/list.test.ts"],
  },
  {
    id: "M23",
    what: "--triton-version 3.1 also matches 3.10.x",
    file: "src/db/index.ts",
    from: "a.push(f.tritonVersion, f.tritonVersion.length + 1, `${f.tritonVersion}.`);",
    to: "a.push(f.tritonVersion, f.tritonVersion.length, f.tritonVersion);",
    tests: ["test/commands/list.test.ts"],
  },
  {
    id: "L01",
    what: "a lock left by a dead process is never taken over",
    file: "src/prune/lock.ts",
    from: "if (!Number.isFinite(holder) || !pidAlive(holder)) {",
    to: "if (!Number.isFinite(holder)) {",
    tests: ["test/commands/prune.test.ts"],
  },
  {
    id: "M10",
    what: "import: file contents unchecked when the manifest is not the archive's first entry",
    file: "src/pack/import.ts",
    from: "    s.checkContent(p, rec.size, rec.sha256);\n",
    to: "",
    tests: ["test/pack/import.test.ts"],
  },
  {
    id: "M11",
    what: "tar reader: an archive that ends inside an entry is taken as complete",
    file: "src/pack/tar-read.ts",
    from: '      throw new McmError("the archive is truncated (it ends inside an entry)");\n',
    to: "",
    tests: ["test/pack/tar.test.ts"],
  },
  {
    id: "M12",
    what: "tar reader: a link or folder whose size field lies is taken to carry content",
    file: "src/pack/tar-read.ts",
    from: 'size: flag === "1" || flag === "2" || flag === "5" ? 0 : size,',
    to: "size,",
    tests: ["test/pack/tar.test.ts", "test/pack/import.test.ts"],
  },
  {
    id: "M26",
    what: "pull: a manifest whose bytes do not match its digest is accepted",
    file: "src/pack/oci/registry.ts",
    from: "if (claimed && claimed !== digest)",
    to: "if (false && claimed && claimed !== digest)",
    tests: ["test/commands/pull.test.ts"],
  },
];
