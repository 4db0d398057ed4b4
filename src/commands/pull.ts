// `mcm pull REF`: fetch a kernel-cache image (mcm's or MCV's), verify every
// digest, check its targets against this machine's GPUs, then import its layer
// through `mcm import`'s safe path and index the result.
import { tmpdir } from "node:os";
import { resolve } from "node:path";
import { probeMachine } from "../check/probe.js";
import { type GpuFact, targetsUsableHere } from "../check/usable.js";
import { defaultCacheDir } from "../config.js";
import { McmError } from "../core/errors.js";
import { parseSize } from "../core/size.js";
import { clearLeftovers, runFolder } from "../leftovers.js";
import { ArchiveRefused, type ImportResult, importArchive } from "../pack/import.js";
import { openRegistry, type TransportOptions } from "../pack/oci/connect.js";
import { checkListedSize, downloadLayers, type PulledLayer, resolveImage } from "../pack/oci/fetch.js";
import { type CacheKind, cachePrefix, describeTarget, type ImageTarget, readLabels } from "../pack/oci/mcv.js";
import { formatRef, manifestRef, parseRef } from "../pack/oci/ref.js";
import { readTar } from "../pack/tar-read.js";
import { plural, size } from "../report/format.js";
import { type GlobalOptions, openContext } from "./context.js";
import { printRefusals, settledJson, settledLines, settleImported } from "./imported.js";

export interface PullOptions extends TransportOptions {
  cacheDir?: string;
  force?: boolean;
  dryRun?: boolean;
  json?: boolean;
  /** --max-size: a cap on the sum of the layers' listed sizes */
  maxSize?: string;
}

interface CheckOutcome {
  /** false: no GPU tool answered (or the image names no targets), so nothing was compared */
  checked: boolean;
  gpus: GpuFact[];
  ok: boolean | null;
  reasons: string[];
  unchecked: string[];
  forced: boolean;
}

/** `mcm check`'s verdict on the image's targets; refuses a certain mismatch unless --force. */
async function checkMachine(targets: ImageTarget[], force: boolean): Promise<CheckOutcome> {
  const want = targets.map(describeTarget).join(", ");
  if (targets.length === 0) {
    process.stderr.write("could not check the image's targets: its summary label names none\n");
    return {
      checked: false,
      gpus: [],
      ok: null,
      reasons: [],
      unchecked: ["the image names no targets"],
      forced: false,
    };
  }
  const facts = await probeMachine();
  const r = targetsUsableHere(targets, facts);
  const checked = r.verdicts.some((v) => v.verdict.status !== "unchecked");
  if (!checked) process.stderr.write(`could not check the image's targets (${want}): ${r.unchecked.join("; ")}\n`);
  if (!r.ok) {
    const have = [...new Set(facts.gpus.map((g) => `${g.backend}/${g.arch} (${g.name})`))].join(", ") || "no GPU";
    if (!force)
      throw new McmError(`the image is built for ${want}; this machine has ${have}: pass --force to import it anyway`);
    process.stderr.write(`importing an image built for ${want} on a machine with ${have} (--force)\n`);
  }
  return {
    checked,
    gpus: facts.gpus,
    ok: checked ? r.ok : null,
    reasons: r.reasons,
    unchecked: r.unchecked,
    forced: !r.ok,
  };
}

/** Bytes of the cache files in a layer, or null when the layer holds none. */
async function cacheBytesIn(layer: PulledLayer, kind: CacheKind): Promise<number | null> {
  const prefix = cachePrefix(kind);
  let bytes: number | null = null;
  await readTar(layer.path, (h) => {
    const name = h.name.replace(/^\.\//, "");
    if (name === prefix.slice(0, -1) || name.startsWith(prefix)) {
      bytes = (bytes ?? 0) + (h.type === "file" ? h.size : 0);
    }
    return undefined;
  });
  return bytes;
}

export async function run(refText: string, o: PullOptions, g: GlobalOptions): Promise<number> {
  const maxBytes = o.maxSize === undefined ? undefined : parseSize(o.maxSize);
  const ref = parseRef(refText);
  clearLeftovers(tmpdir()); // the download folders of pulls that were killed
  const reg = openRegistry(ref, o);
  const image = await resolveImage(reg, manifestRef(ref));
  checkListedSize(image.layers, maxBytes, tmpdir());
  const labels = readLabels(image.labels);
  const dest = resolve(o.cacheDir ?? defaultCacheDir(labels.kind));
  const check = await checkMachine(labels.targets, o.force === true);
  const temp = runFolder(tmpdir(), "mcm-pull");
  const tmp = temp.path;
  try {
    const layers = await downloadLayers(reg, image.layers, tmp);
    const results: ImportResult[] = [];
    let cacheBytes = 0;
    for (const layer of layers) {
      const bytes = await cacheBytesIn(layer, labels.kind);
      if (bytes === null) continue; // e.g. the manifest's own layer in a multi-COPY build
      cacheBytes += bytes;
      try {
        results.push(
          await importArchive(layer.path, dest, {
            dryRun: o.dryRun === true,
            root: cachePrefix(labels.kind).slice(0, -1),
          }),
        );
      } catch (e) {
        if (e instanceof ArchiveRefused) printRefusals(e);
        throw e;
      }
    }
    if (results.length === 0) throw new McmError(`the image has no ${cachePrefix(labels.kind)} folder in its layers`);
    if (labels.cacheSizeBytes !== undefined && labels.cacheSizeBytes !== cacheBytes) {
      process.stderr.write(
        `note: the image's label says ${labels.cacheSizeBytes} cache bytes; its layers hold ${cacheBytes}\n`,
      );
    }
    const ctx = openContext(g);
    const settled = o.dryRun ? null : await settleImported(ctx, [{ path: dest, layout: "auto" }]);
    const indexed = settled ? { kernels: settled.summaries.reduce((n, s) => n + s.kernels, 0) } : null;
    const sum = (f: (r: ImportResult) => number) => results.reduce((a, r) => a + f(r), 0);
    const out = {
      ref: formatRef(ref),
      digest: image.manifestDigest,
      kind: labels.kind,
      labels: image.labels,
      targets: labels.targets,
      check,
      layers: layers.map((l) => ({ digest: l.digest, size: l.size, mediaType: l.mediaType })),
      dest,
      ...settledJson(settled),
      dryRun: o.dryRun === true,
      imports: results,
      indexed,
    };
    if (o.json) ctx.json(out);
    else {
      const added = sum((r) => r.kernels.added.length);
      const same = sum((r) => r.kernels.identical.length);
      const conflicts = sum((r) => r.kernels.conflicting.length + r.others.conflicting.length);
      ctx.out(
        `${o.dryRun ? "Would import" : "Pulled"} ${formatRef(ref)}@${image.manifestDigest} (${labels.kind}, ${plural(layers.length, "layer")}, ${size(sum((r) => r.bytes))} ${o.dryRun ? "to write" : "written"}) into ${dest}:`,
      );
      ctx.out(`  kernels: ${added} added, ${same} already present, ${conflicts} conflicting (left untouched)`);
      ctx.out(
        `  targets: ${labels.targets.map(describeTarget).join(", ") || "none listed"}${check.checked ? (check.forced ? " (mismatch, --force)" : " (match this machine)") : " (not checked)"}`,
      );
      for (const line of settledLines(settled, dest)) ctx.out(`  ${line}`);
      if (o.dryRun) ctx.out("Dry run: nothing was written.");
    }
    const refused = sum((r) => r.refused.length);
    if (refused) {
      process.stderr.write(`mcm: refused ${plural(refused, "unsafe entry")} of the image; the rest was imported\n`);
      return 2;
    }
    return 0;
  } finally {
    temp.remove();
  }
}
