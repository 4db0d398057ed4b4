// The machine probe against fake tools alone on PATH (no GPU here: see helpers/fake-tools.ts).
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { parseAmdSmi, parseNvidiaSmi, parseRocminfo, probeMachine } from "../../src/check/probe.js";
import { fakeTools, H100, prints, rocminfo, TRITON_360 } from "../helpers/fake-tools.js";
import { cleanupTemp } from "../helpers/fixtures.js";

after(cleanupTemp);

const probe = (tools: Record<string, string>, timeoutMs?: number) =>
  probeMachine({ env: { PATH: fakeTools(tools) }, timeoutMs });

describe("probeMachine", () => {
  it("an H100 and Triton 3.6.0: cuda arch 90 as Triton stores it, nothing unchecked but AMD", async () => {
    const m = await probe({ "nvidia-smi": H100, python3: TRITON_360 });
    assert.deepEqual(m.gpus, [{ index: 0, backend: "cuda", arch: "90", name: "NVIDIA H100 80GB HBM3", warpSize: 32 }]);
    assert.deepEqual(m.probedBackends, ["cuda"]);
    assert.deepEqual(m.triton, { version: "3.6.0", python: "python3" });
    assert.deepEqual(
      m.unchecked.map((u) => [u.what, u.reason]),
      [["amd", "rocminfo not found on PATH; amd-smi not found on PATH"]],
    );
  });

  it("passes nvidia-smi the query Triton's arch comes from", async () => {
    const m = await probe({
      "nvidia-smi": `[ "$*" = "--query-gpu=name,compute_cap --format=csv,noheader" ] || exit 3\necho "Tesla V100-SXM2-16GB, 7.0"`,
    });
    assert.equal(m.gpus[0]?.arch, "70");
  });

  it("several GPUs of different archs and vendors, names with commas", async () => {
    const m = await probe({
      "nvidia-smi": prints(
        "NVIDIA H100 80GB HBM3, 9.0\nNVIDIA A100-SXM4-80GB, 8.0\nNVIDIA RTX PRO 6000, Blackwell, 12.0",
      ),
      rocminfo: prints(
        rocminfo([
          { gfx: "gfx90a", market: "AMD Instinct MI210" },
          { gfx: "gfx1100", market: "Radeon RX 7900 XTX", wave: 32 },
        ]),
      ),
      python3: prints("3.5.1+git4e3f1a2"),
    });
    assert.deepEqual(
      m.gpus.map((g) => [g.backend, g.arch, g.name, g.warpSize]),
      [
        ["cuda", "90", "NVIDIA H100 80GB HBM3", 32],
        ["cuda", "80", "NVIDIA A100-SXM4-80GB", 32],
        ["cuda", "120", "NVIDIA RTX PRO 6000, Blackwell", 32],
        ["hip", "gfx90a", "AMD Instinct MI210", 64],
        ["hip", "gfx1100", "Radeon RX 7900 XTX", 32],
      ],
    );
    assert.deepEqual(m.probedBackends, ["cuda", "hip"]);
    assert.equal(m.triton?.version, "3.5.1+git4e3f1a2");
    assert.deepEqual(m.unchecked, []);
  });

  it("no tool at all: every probe says what it could not check", async () => {
    const m = await probe({});
    assert.deepEqual(m.gpus, []);
    assert.deepEqual(m.probedBackends, []);
    assert.equal(m.triton, null);
    assert.deepEqual(
      m.unchecked.map((u) => [u.what, u.tool, u.reason]),
      [
        ["nvidia", "nvidia-smi", "nvidia-smi not found on PATH"],
        ["amd", "rocminfo", "rocminfo not found on PATH; amd-smi not found on PATH"],
        ["triton", "python3", "python3 not found on PATH"],
      ],
    );
  });

  it("garbage output is not read as GPUs", async () => {
    const m = await probe({ "nvidia-smi": prints("<html>oops</html>"), python3: prints("hello") });
    assert.deepEqual(m.gpus, []);
    assert.deepEqual(m.probedBackends, []);
    assert.equal(m.triton, null);
    assert.match(m.unchecked[0]?.reason ?? "", /^nvidia-smi printed what mcm cannot read: "<html>oops<\/html>"$/);
    assert.match(m.unchecked[2]?.reason ?? "", /^python3 printed no Triton version: "hello"$/);
  });

  it("a partial GPU list keeps the GPUs it read but does not claim the list is complete", async () => {
    const m = await probe({ "nvidia-smi": prints("NVIDIA H100 80GB HBM3, 9.0\nNVIDIA H100 80GB HBM3, [N/A]") });
    assert.deepEqual(
      m.gpus.map((g) => g.arch),
      ["90"],
    );
    assert.deepEqual(m.probedBackends, []);
    assert.match(m.unchecked[0]?.reason ?? "", /printed 1 line\(s\) mcm cannot read/);
  });

  it("a failing driver, an old driver and no devices", async () => {
    const noDriver = await probe({
      "nvidia-smi": prints(
        "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver. Make sure that the latest NVIDIA driver is installed and running.",
        9,
      ),
    });
    assert.match(noDriver.unchecked[0]?.reason ?? "", /^nvidia-smi failed \(exit 9\): NVIDIA-SMI has failed/);
    const old = await probe({
      "nvidia-smi": `echo 'Field "compute_cap" is not a valid field to query.' >&2; exit 2`,
    });
    assert.equal(
      old.unchecked[0]?.reason,
      'nvidia-smi failed (exit 2): Field "compute_cap" is not a valid field to query.',
    );
    const none = await probe({ "nvidia-smi": prints("No devices were found", 6) });
    assert.deepEqual(none.probedBackends, ["cuda"]);
    assert.equal(
      none.unchecked.find((u) => u.what === "nvidia"),
      undefined,
    );
  });

  it("Python without Triton, a hung tool", async () => {
    const m = await probe(
      {
        python3: `echo "ModuleNotFoundError: No module named 'triton'" >&2; exit 1`,
        "nvidia-smi": "exec /bin/sleep 30",
      },
      500,
    );
    const by = Object.fromEntries(m.unchecked.map((u) => [u.what, u.reason]));
    assert.equal(by.triton, "python3 cannot import triton: ModuleNotFoundError: No module named 'triton'");
    assert.equal(by.nvidia, "nvidia-smi did not answer within 0.5 s");
  });

  it("asks the real python3 for the Triton it imports (the stand-in package, at a version made up here)", async () => {
    const version = `3.${process.pid}.${Date.now() % 1000}+stub`;
    const env = {
      ...process.env,
      PYTHONPATH: new URL("../python/stub", import.meta.url).pathname,
      MCM_STUB_TRITON_VERSION: version,
    };
    const m = await probeMachine({ env });
    assert.deepEqual(m.triton, { version, python: "python3" });
    assert.equal(
      m.unchecked.find((u) => u.what === "triton"),
      undefined,
    );
  });

  it("amd-smi when rocminfo is missing; rocminfo without a GPU lists none", async () => {
    const m = await probe({
      "amd-smi": `[ "$*" = "static --asic" ] || exit 3\n${prints("GPU: 0\n    ASIC:\n        MARKET_NAME: AMD Instinct MI300X\n        VENDOR_ID: 0x1002\n        TARGET_GRAPHICS_VERSION: gfx942\nGPU: 1\n    ASIC:\n        MARKET_NAME: AMD Instinct MI300X\n        TARGET_GRAPHICS_VERSION: gfx942")}`,
    });
    assert.deepEqual(
      m.gpus.map((g) => [g.index, g.backend, g.arch, g.name, g.warpSize]),
      [
        [0, "hip", "gfx942", "AMD Instinct MI300X", 64],
        [1, "hip", "gfx942", "AMD Instinct MI300X", 64],
      ],
    );
    assert.deepEqual(m.probedBackends, ["hip"]);
    const cpuOnly = await probe({ rocminfo: prints(rocminfo([])) });
    assert.deepEqual(cpuOnly.gpus, []);
    assert.deepEqual(cpuOnly.probedBackends, ["hip"]);
  });
});

describe("parsers", () => {
  it("nvidia-smi: blank lines ignored, bad lines returned", () => {
    const r = parseNvidiaSmi("\nNVIDIA GH200 480GB, 9.0\r\n\nwhat\n");
    assert.deepEqual(
      r.gpus.map((g) => g.arch),
      ["90"],
    );
    assert.deepEqual(r.bad, ["what"]);
  });

  it("rocminfo: the agent's name, not the ISA's; features stripped", () => {
    const g = parseRocminfo(rocminfo([{ gfx: "gfx90a", market: "AMD Instinct MI250X" }]));
    assert.deepEqual(g, [{ index: 0, backend: "hip", arch: "gfx90a", name: "AMD Instinct MI250X", warpSize: 64 }]);
    assert.equal(parseRocminfo("Agent 1\n  Name: gfx942:sramecc+:xnack-\n")[0]?.arch, "gfx942");
  });

  it("amd-smi: blocks without a gfx target are skipped", () => {
    assert.deepEqual(parseAmdSmi("GPU: 0\n    ASIC:\n        MARKET_NAME: N/A\n"), []);
  });
});
