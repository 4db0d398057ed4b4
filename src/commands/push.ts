// `mcm push REF`: the chosen kernels as an MCV-compatible image, pushed over the
// distribution API (or written as an OCI layout). Prints the digest on stdout.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { McmError, NothingMatched } from "../core/errors.js";
import { interner } from "../core/intern.js";
import type { LayoutName } from "../core/types.js";
import { UnitStore } from "../db/units.js";
import type { TransportOptions } from "../pack/oci/connect.js";
import { buildImage } from "../pack/oci/image.js";
import { kindOf, type LayerPlan, packedKernel, planLayer, writeLayer } from "../pack/oci/layer.js";
import { writeLayout } from "../pack/oci/layout.js";
import type { CacheKind, PackedKernel } from "../pack/oci/mcv.js";
import { OCI_MANIFEST } from "../pack/oci/media-types.js";
import { formatRef, manifestRef, parseRef } from "../pack/oci/ref.js";
import { plural, size } from "../report/format.js";
import { type FilterOptions, type GlobalOptions, indexedRoots, openContext, parseFilters } from "./context.js";

export interface PushOptions extends FilterOptions, TransportOptions {
  ociLayout?: string;
  /** false (--no-links): identical files as full copies */
  links?: boolean;
  json?: boolean;
}

const NARROWING: (keyof FilterOptions)[] = [
  "name",
  "backend",
  "arch",
  "olderThan",
  "youngerThan",
  "cacheHitLower",
  "cacheHitHigher",
  "tritonVersion",
];

export async function run(refText: string, o: PushOptions, g: GlobalOptions): Promise<number> {
  const ref = parseRef(refText);
  if (o.ociLayout !== undefined && ref.digest) throw new McmError("with --oci-layout, REF names a tag, not a digest");
  const filters = parseFilters(o);
  const ctx = openContext(g);
  await indexedRoots(ctx, filters);
  const whole = NARROWING.every((k) => o[k] === undefined);
  const store = new UnitStore(ctx.db);
  // a whole vLLM root ships its compile units even when they embed no kernel (a plain AOT model)
  const unitRoots = whole ? [...new Set(store.units(filters.cacheDir).map((u) => u.root))] : [];
  // one row at a time: what the layer needs of each kernel is kept, not its row or metadata text
  const kernels: PackedKernel[] = [];
  const rootSet = new Set<string>();
  const kinds = new Set<CacheKind>();
  let layout: LayoutName | undefined;
  const intern = interner();
  for (const row of ctx.db.iteratePacked(filters)) {
    kernels.push(packedKernel(row, intern));
    rootSet.add(row.root);
    kinds.add(kindOf(row.layout));
    layout ??= row.layout;
  }
  if (kernels.length === 0 && unitRoots.length === 0) throw new NothingMatched("no kernels match: nothing to push");
  const roots = [...new Set([...rootSet, ...unitRoots])];
  if (roots.length > 1) {
    throw new McmError(
      `the kernels come from ${roots.length} caches (${roots.join(", ")}): choose one with --cache-dir`,
    );
  }
  if (unitRoots.length) kinds.add("vllm");
  if (kinds.size > 1)
    throw new McmError("the kernels mix vLLM and Triton caches: choose one with --cache-dir or --mode");
  const root = roots[0] as string;
  const plan = planLayer(root, layout ?? "vllm", kernels, whole, {
    units: store.units(root),
    dirs: store.compileDirs(root),
  });
  const tmp = mkdtempSync(join(tmpdir(), "mcm-push-"));
  try {
    const layerPath = join(tmp, "layer.tar.gz");
    const layer = await writeLayer(plan, layerPath, o.links !== false);
    const image = buildImage(layer, plan.labels);
    let target: string;
    let sent = 0;
    let present = 0;
    if (o.ociLayout !== undefined) {
      const dir = resolve(o.ociLayout);
      await writeLayout(dir, image, ref.tag ?? "latest");
      target = `oci:${dir}:${ref.tag ?? "latest"}`;
    } else {
      const [{ openRegistry }, { uploadBlob }] = await Promise.all([
        import("../pack/oci/connect.js"),
        import("../pack/oci/upload.js"),
      ]);
      const reg = openRegistry(ref, o);
      for (const blob of [
        { digest: image.layer.digest, size: image.layer.size, path: layerPath },
        { digest: image.configDigest, size: image.config.length, data: image.config },
      ]) {
        if ((await uploadBlob(reg, blob)).sent) sent++;
        else present++;
      }
      await reg.putManifest(image.manifest, OCI_MANIFEST, manifestRef(ref));
      target = formatRef(ref);
    }
    const out = result(plan, image.manifestDigest, { ...image.layer, linked: layer.linked }, target, sent, present);
    if (o.json) ctx.json(out);
    else {
      process.stderr.write(summary(plan, out, o.ociLayout !== undefined));
      ctx.out(
        o.ociLayout !== undefined ? image.manifestDigest : `${ref.registry}/${ref.repository}@${image.manifestDigest}`,
      );
    }
    return 0;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

function result(
  plan: LayerPlan,
  digest: string,
  layer: { digest: string; size: number; linked?: number },
  target: string,
  sent: number,
  present: number,
) {
  return {
    target,
    digest,
    mediaType: OCI_MANIFEST,
    kind: plan.kind,
    root: plan.root,
    kernels: plan.kernels.length,
    files: plan.files,
    cacheBytes: plan.cacheBytes,
    layer: { digest: layer.digest, size: layer.size, hardLinks: layer.linked ?? 0 },
    labels: plan.labels,
    blobs: { sent, alreadyPresent: present },
    skipped: plan.skipped,
  };
}

function summary(plan: LayerPlan, r: ReturnType<typeof result>, layout: boolean): string {
  const lines = [
    `${layout ? "wrote" : "pushed"} ${r.target}: ${plural(plan.kernels.length, "kernel")}, ${plural(plan.files, "file")}, ${size(plan.cacheBytes)} (layer ${size(r.layer.size)})`,
  ];
  if (!layout) lines.push(`blobs: ${r.blobs.sent} sent, ${r.blobs.alreadyPresent} already in the registry`);
  if (r.layer.hardLinks) {
    lines.push(
      `${r.layer.hardLinks} identical file(s) are tar hard links in the layer; MCV's own extractor (GKM) skips links: --no-links writes copies`,
    );
  }
  if (plan.skipped.length)
    lines.push(`left out ${plan.skipped.length} file(s) Triton was writing or that are links (-v lists them)`);
  return `${lines.join("\n")}\n`;
}
