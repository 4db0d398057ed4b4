// The FX-graph level (and AOTAutograd, whose key holds the same machine-wide
// parts): Inductor's system facts (device name, CUDA, the Triton key), torch_key,
// and its settings, from each entry's key lines beside the probe's own lines.
import { conclude, differs, type Factor, type Level, same, short, tritonKeyShown, unknown } from "./factors.js";
import type { CacheFacts, HereFacts } from "./levels.js";
import { type KeyLine, keyLines, pyField, type RuntimeFacts } from "./runtime-facts.js";

/** The machine's side of the FX-graph key: Inductor's own lines when the probe made them. */
function hereLines(rt: RuntimeFacts | null): Map<string, KeyLine> | null {
  const lines = rt?.torch.fx_lines;
  return lines ? keyLines(lines) : null;
}

/** The machine-wide parts of an FX-graph key, from a graph's key lines: device, CUDA, triton_key, torch_key. */
export function systemFactors(lines: Map<string, KeyLine>, here: HereFacts): Factor[] {
  const rt = here.runtime;
  const mine = hereLines(rt);
  const sys = rt?.torch.system;
  const factors: Factor[] = [];
  // the system facts are Python reprs of plain strings: their fields compare as text, whole
  const field = (
    name: string,
    line: string,
    key: string,
    hereValue: string | null | undefined,
    show = (v: string) => v,
  ) => {
    const theirs = pyField(lines.get(line)?.text ?? "", key);
    const mineValue = hereValue ?? null;
    if (theirs === null)
      factors.push(unknown(name, "not recorded", mineValue === null ? "unknown" : show(mineValue), true));
    else if (mineValue === null) factors.push(unknown(name, show(theirs), "unknown", true));
    else if (theirs === mineValue) factors.push(same(name, show(theirs), show(mineValue)));
    else factors.push(differs(name, show(theirs), show(mineValue)));
  };
  field("device name", "system_info[device]", "name", sys?.device?.name);
  field("CUDA (torch.version.cuda)", "system_info[version]", "cuda", sys?.version?.cuda);
  field("Triton build (triton_key)", "system_info[version]", "triton", sys?.version?.triton, tritonKeyShown);
  // torch_key() is raw bytes: only Inductor's hashes of it compare
  const theirKey = lines.get("torch_version");
  const myKey = mine?.get("torch_version");
  const torch = rt?.torch.version ? `torch ${rt.torch.version}` : "unknown";
  const keyName = "PyTorch build (torch_key)";
  if (!theirKey) factors.push(unknown(keyName, "not recorded", torch, true));
  else if (!myKey) {
    const why = rt?.torch.fx_lines_error ?? rt?.torch.system_error ?? rt?.torch.error;
    factors.push(unknown(keyName, "recorded", why ? `unknown (${short(why, 60)})` : "unknown", true));
  } else if (theirKey.hash === myKey.hash) factors.push(same(keyName, torch, torch));
  else factors.push(differs(keyName, "another build", torch));
  return factors;
}

function graphFactors(lines: Map<string, KeyLine>, here: HereFacts): Factor[] {
  const mine = hereLines(here.runtime);
  const factors = systemFactors(lines, here);
  // settings: a program's options and TORCHINDUCTOR_* variables change them, so a difference is not a verdict
  const config = [...lines].filter(([n]) => n.startsWith("inductor_config["));
  if (mine && config.length) {
    const off = config.filter(([n, l]) => mine.get(n)?.hash !== l.hash).map(([n]) => n.slice(16, -1));
    factors.push(
      off.length
        ? unknown(
            "Inductor settings",
            `${config.length} recorded`,
            `${off.length} differ from the defaults here (${off.slice(0, 3).join(", ")}${off.length > 3 ? ", …" : ""}): the program may set them`,
            false,
          )
        : same("Inductor settings", `${config.length} recorded`, "the defaults here"),
    );
  } else factors.push(unknown("Inductor settings", `${config.length} recorded`, "unknown", false));
  return factors;
}

export function fxLevels(cache: CacheFacts, here: HereFacts): Level[] {
  // graphs made on one machine share their factors: one level per distinct set
  const groups = new Map<string, { factors: Factor[]; count: number }>();
  for (const g of cache.graphs) {
    const factors = graphFactors(g.lines, here);
    const sig = JSON.stringify(factors);
    const x = groups.get(sig) ?? { factors, count: 0 };
    x.count++;
    groups.set(sig, x);
  }
  return [...groups.values()].map((x) =>
    conclude("fx-graph", `${x.count} FX graph${x.count === 1 ? "" : "s"}`, x.count, x.factors),
  );
}
