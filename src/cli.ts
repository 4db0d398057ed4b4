// argv -> command -> exit code. Commands load lazily so `--help` stays fast.
import { Command, CommanderError, Option } from "commander";
import type { GlobalOptions } from "./commands/context.js";
import { McmError } from "./core/errors.js";
import { parseWholeNumber, refuseEmpty } from "./core/flags.js";
import { shortenLongRuns } from "./core/short-path.js";
import { databaseError } from "./db/errors.js";
import { setVerbosity, verbosity } from "./log.js";
import { VERSION } from "./version.js";

function addFilterOptions(cmd: Command): Command {
  return cmd
    .option("-n, --name <name>", "exact kernel name (case matters); * and ? make it a glob: 'triton_poi_*'")
    .option("-b, --backend <text>", "backend: cuda, hip, xpu, ...")
    .option("-a, --arch <text>", "architecture: 90, gfx90a, ...")
    .option("--older-than <duration>", "modified before: 90m, 12h, 7d, 2w")
    .option("--younger-than <duration>", "modified within: 90m, 12h, 7d, 2w")
    .option("--cache-dir <path>", "only kernels under this cache folder")
    .addOption(
      new Option("--mode <mode>", "only caches of this layout").choices(["auto", "triton", "inductor", "vllm"]),
    )
    .option("--cache-hit-lower <n>", "fewer than N recorded hits")
    .option("--cache-hit-higher <n>", "more than N recorded hits")
    .option("--triton-version <version>", "Triton version (3.6 matches 3.6.x)");
}

function addTransportOptions(cmd: Command): Command {
  return cmd
    .option("--creds <user:pass>", "registry credentials (default: containers auth.json, docker config.json)")
    .option("--ca-cert <file>", "trust this CA for the registry's TLS certificate")
    .option("--insecure", "plain http (a local registry without TLS)");
}

export async function main(argv: string[]): Promise<number> {
  // `mcm list | head`: a closed pipe ends the output quietly, as for any Unix tool
  process.stdout.on("error", (e: NodeJS.ErrnoException) => {
    if (e.code === "EPIPE") process.exit(0);
    throw e;
  });
  const program = new Command("mcm")
    .description(
      "Model Cache Manager: index, search, prune, pre-warm and ship GPU-kernel caches (Triton, Inductor, vLLM)",
    )
    .version(VERSION, "-V, --version")
    .option("--db <path>", "index database (env MCM_DB; an empty MCM_DB counts as unset, an empty --db is refused)")
    .option(
      "-v, --verbose",
      "more logging on stderr: -v warnings, -vv info, -vvv debug",
      (_v, prev: number) => prev + 1,
      0,
    )
    .option("--no-color", "no colours (also NO_COLOR)")
    .showSuggestionAfterError()
    .exitOverride();
  program.configureOutput({ outputError: (s, write) => write(s.replace(/^error:/, "mcm: error:")) });
  // an empty path (`--cache-dir "$UNSET"`) would mean the current folder: refused for every command
  program.hook("preAction", (_program, command) => {
    for (const cmd of [program, command]) {
      for (const opt of cmd.options) {
        if (/<(path|file|dir|folder)>/.test(opt.flags))
          refuseEmpty(opt.long ?? opt.flags, cmd.getOptionValue(opt.attributeName()));
      }
    }
  });

  let code = 0;
  const globals = (): GlobalOptions => {
    const o = program.opts() as GlobalOptions;
    setVerbosity(o.verbose ?? 0);
    return o;
  };

  program
    .command("index")
    .description("scan a cache folder and bring the index up to date")
    .option(
      "--cache-dir <path>",
      "cache folder (default: TRITON_CACHE_DIR, VLLM_CACHE_ROOT, TORCHINDUCTOR_CACHE_DIR defaults)",
    )
    .addOption(
      new Option("--mode <mode>", "cache layout").choices(["auto", "triton", "inductor", "vllm"]).default("auto"),
    )
    .option("--json", "print the summary as JSON")
    .action(async (o) => {
      code = await (await import("./commands/index.js")).run(o, globals());
    });

  addFilterOptions(program.command("list").description("list indexed kernels, refreshing what changed on disk"))
    .option("--sort <field[:desc]>", "name, size, modified, hits, last-access, backend, arch, hash")
    .option("--limit <n>", "at most N kernels", (v) => parseWholeNumber("--limit", v))
    .option("--json", "print a JSON array")
    .action(async (o) => {
      code = await (await import("./commands/list.js")).run(o, globals());
    });

  addFilterOptions(
    program
      .command("prune")
      .description("free space: IR-only by default, --full, --deduplicate [--link], --max-size or --stale; plans first")
      .addHelpText(
        "after",
        "\nExamples:\n  mcm prune --older-than 90d\n  mcm prune --name unstable_kernel --full -y\n  mcm prune --deduplicate -y\n  mcm prune --max-size 20G --keep-recent 7d\n  mcm prune --stale --cache-dir ~/.cache/vllm --dry-run",
      ),
  )
    .option("--full", "remove matching kernels whole (vLLM: whole compile folders)")
    .option("--deduplicate", "remove kernels identical to a newer one (same binary, same metadata but hash)")
    .option(
      "--link",
      "with --deduplicate: hard-link identical files instead of removing kernels (vLLM: byte-identical artifacts)",
    )
    .option("--stale", "vLLM: remove compile folders a newer vLLM or compiler superseded (same model and rank)")
    .option("--asm", "IR-only mode: remove the assembly (.ptx, .amdgcn) too")
    .option("--max-size <size>", "evict least recently used kernels until each cache fits: 500M, 20G, 1.5Gi")
    .option("--keep-recent <duration>", "never touch kernels used or written within: 12h, 7d")
    .option(
      "--grace <duration>",
      "how long programs that read a kernel before it was unpublished get to finish (default 2s; one wait per run)",
    )
    .option("--dry-run", "print the plan and change nothing")
    .option("-y, --yes", "apply the plan without asking")
    .option("--json", "print the plan (and the result) as JSON")
    .action(async (o) => {
      code = await (await import("./commands/prune.js")).run(o, globals());
    });

  program
    .command("show")
    .description("show one kernel in full: metadata, files, group-path state")
    .argument("<hash>", "kernel hash (folder name) or a unique prefix of it")
    .option("--cache-dir <path>", "only kernels under this cache folder")
    .option("--json", "print JSON")
    .action(async (hash: string, o) => {
      code = await (await import("./commands/show.js")).run(hash, o, globals());
    });

  program
    .command("tracker")
    .description("print how to record kernel hits and misses (python/mcm_tracker.py), or install the module")
    .option("--install <dir>", "copy mcm_tracker.py into DIR first")
    .option("--json", "print the module path and environment as JSON")
    .action(async (o) => {
      globals();
      code = await (await import("./commands/tracker.js")).run(o);
    });

  const collect = (v: string, prev: string[] = []) => [...prev, v];
  program
    .command("warm")
    .description("pre-warm a vLLM cache in a container (CUDA or ROCm), or capture the caches of any command after --")
    .argument("[command...]", "host mode: run this command (after --) with its caches pointed into a fresh folder")
    .option("-m, --model <text>", "model to load (default facebook/opt-125m)")
    .option("-o, --output <path>", "archive written by --tarball (default warmed_cache.tar.gz)")
    .option("--host-cache-dir <path>", "folder that receives cache_<timestamp> (default ./)")
    .option(
      "--hugging-face-token-file <path>",
      "read the Hugging Face token from PATH (- for stdin); else HF_TOKEN; it travels only in the environment",
    )
    // refused with a message: a token in argv is visible in `ps`
    .addOption(new Option("--hugging-face-token [text]").hideHelp())
    .option("--vllm_cache_dir <path>", "cache folder inside the container (default /root/.cache/vllm/)")
    .option("--vllm-cache-dir <path>", "same as --vllm_cache_dir")
    .option("--tarball", "pack the warmed cache into --output")
    .option("--rocm", "AMD GPUs: the ROCm vLLM image and /dev/kfd, /dev/dri")
    .addOption(
      new Option("--engine <name>", "container engine (default: podman, else docker)").choices(["podman", "docker"]),
    )
    .option(
      "--image <ref>",
      "vLLM image (default docker.io/vllm/vllm-openai:latest, --rocm docker.io/rocm/vllm:latest)",
    )
    .option("--tensor-parallel-size <n>", "GPUs to shard the model over")
    .option("--max-model-len <n>", "context length (smaller loads faster)")
    .option("--prompt <text>", "a prompt to generate from (repeatable)", collect)
    .option(
      "--env <KEY=VALUE|KEY>",
      "a variable for the workload (repeatable); KEY alone takes mcm's own value, kept out of argv; --dry-run shows secret-looking ones as <redacted>",
      collect,
    )
    .option("--timeout <duration>", "stop the workload after: 30m, 2h")
    .option("--no-gpu", "no GPU devices in the container (CPU images)")
    .option("--dry-run", "print what would run and change nothing")
    .option("--json", "print the result (or the plan) as JSON")
    .addHelpText(
      "after",
      "\nExamples:\n  mcm warm --model EleutherAI/gpt-neo-125M --tarball --output my_gpt_neo_cache.tar.gz\n  mcm warm --model Llama-3-8B --rocm --hugging-face-token-file ~/.cache/huggingface/token\n  mcm warm --tarball -- python3 my_workload.py",
    )
    .action(async (command: string[], o) => {
      code = await (await import("./commands/warm.js")).run(o, command, globals());
    });

  program
    .command("stats")
    .description("totals by backend, arch, Triton version and name; non-kernel bytes; reclaimable space")
    .option("--cache-dir <path>", "only this cache folder")
    .option("--json", "print JSON")
    .action(async (o) => {
      code = await (await import("./commands/stats.js")).run(o, globals());
    });

  addTransportOptions(
    addFilterOptions(
      program
        .command("push")
        .description("push the chosen kernels as an MCV-compatible OCI image; prints its digest")
        .argument("<ref>", "image reference: [registry/]repository[:tag]"),
    ),
  )
    .option("--oci-layout <dir>", "write an OCI image layout folder instead (REF gives the tag)")
    .option(
      "--no-links",
      "write identical files as full copies, not tar hard links (MCV's own extractor, as GKM runs it, skips links)",
    )
    .option("--json", "print the result as JSON")
    .action(async (ref: string, o) => {
      code = await (await import("./commands/push.js")).run(ref, o, globals());
    });

  addTransportOptions(
    program
      .command("pull")
      .description("pull a kernel-cache image (mcm's or MCV's), verify it, check its targets, import it")
      .argument("<ref>", "image reference: [registry/]repository[:tag|@digest]"),
  )
    .option("--cache-dir <path>", "import into this cache folder (default: the Triton or vLLM cache dir)")
    .option("--force", "import even when the image's targets do not match this machine's GPUs")
    .option("--dry-run", "fetch and verify, print what would be imported, change nothing")
    .option(
      "--max-size <size>",
      "refuse, before downloading, an image whose layers list more than this: 500M, 20G, 1.5Gi (default: the temp folder's free space)",
    )
    .option("--json", "print the result as JSON")
    .action(async (ref: string, o) => {
      code = await (await import("./commands/pull.js")).run(ref, o, globals());
    });

  program
    .command("explain")
    .description("why a cache will hit or compile again here: each level's factors, the cache's beside this machine's")
    .argument("[hash]", "only the kernels, FX graphs or vLLM compile folders whose hash starts with this")
    .option("--cache-dir <path>", "only this cache folder")
    .option("--python <cmd>", "the Python whose Triton, PyTorch and vLLM count", "python3")
    .option("--json", "print JSON")
    .action(async (hash: string | undefined, o) => {
      code = await (await import("./commands/explain.js")).run(hash, o, globals());
    });

  program
    .command("check")
    .description(
      "which indexed kernels can hit on this machine (GPU arch, Triton version, group paths), and each level's verdict",
    )
    .option("--cache-dir <path>", "only this cache folder")
    .option("--python <cmd>", "the Python whose Triton counts", "python3")
    .option("--strict", "exit 1 unless every kernel can be used here")
    .option("--json", "print JSON")
    .action(async (o) => {
      code = await (await import("./commands/check.js")).run(o, globals());
    });

  addFilterOptions(
    program.command("export").description("write a cache (or the kernels a filter picks) as a deterministic .tar.gz"),
  )
    .requiredOption("-o, --output <file>", "the .tar.gz to write")
    .option("--json", "print the result as JSON")
    .action(async (o) => {
      code = await (await import("./commands/export.js")).run(o, globals());
    });

  program
    .command("import")
    .description("extract a cache archive safely into a cache folder, pointing its absolute paths at it; then index")
    .argument(
      "<file>",
      "an archive from mcm export or mcm warm --tarball, an MCV layer, or a tarball of a cache folder",
    )
    .option("--cache-dir <path>", "destination (default: the default folder of the archive's layout)")
    .option("--root <folder>", "the folder inside the archive that holds the cache (default: detected)")
    .option("--to-origin", "import into the folder where the cache was compiled, so every absolute path in it holds")
    .option(
      "--max-size <size>",
      "refuse an archive whose files add up to more: 2G, 500Mi (default: 20 times the archive's size, at least 1 GiB)",
    )
    .option("--dry-run", "check the archive and print what would happen; write nothing")
    .option("--json", "print the result as JSON")
    .action(async (file: string, o) => {
      code = await (await import("./commands/import.js")).run(file, o, globals());
    });

  program
    .command("relocate")
    .description(
      "point the absolute paths of a copied or moved cache (group files, vLLM's index, Inductor's autotuners) at where it is now",
    )
    .option("--cache-dir <path>", "cache folder (default: the default folders that exist)")
    .addOption(
      new Option("--mode <mode>", "cache layout").choices(["auto", "triton", "inductor", "vllm"]).default("auto"),
    )
    .option("--dry-run", "print the plan and change nothing")
    .option("-y, --yes", "apply the plan without asking")
    .option("--json", "print the plan (and the result) as JSON")
    .action(async (o) => {
      code = await (await import("./commands/relocate.js")).run(o, globals());
    });

  try {
    await program.parseAsync(argv, { from: "user" });
    return code;
  } catch (e) {
    if (e instanceof CommanderError) {
      return e.code === "commander.helpDisplayed" || e.code === "commander.version" || e.exitCode === 0 ? 0 : 2;
    }
    const known =
      e instanceof McmError ? e : databaseError(e, program.opts().db ?? (await import("./config.js")).defaultDbPath());
    if (known) {
      process.stderr.write(`mcm: ${shortenLongRuns(known.message)}\n`);
      if (verbosity() >= 3) process.stderr.write(`${(e as Error).stack}\n`);
      return known.exitCode;
    }
    process.stderr.write(`mcm: unexpected error: ${shortenLongRuns(String((e as Error).message ?? e))}\n`);
    if (verbosity() >= 3) process.stderr.write(`${(e as Error).stack}\n`);
    else process.stderr.write("mcm: run with -vvv for the stack trace\n");
    return 2;
  }
}
