#!/usr/bin/env bash
# Real-GPU check for `mcm warm` host mode (issue 4): the Inductor workload of gpu/workloads.py,
# run under `mcm warm -- ...`, must be captured and indexed: 55 Triton kernels on an H100.
#   gpu/check_warm.sh OUT_DIR        (with `mcm` on PATH)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-/tmp/out}
work=/tmp/mcm-warm-check
rm -rf "$work" && mkdir -p "$work" "$out"
export MCM_DB="$work/index.db"
unset TRITON_CACHE_DIR TORCHINDUCTOR_CACHE_DIR VLLM_CACHE_ROOT

start=$(date +%s.%N)
mcm warm --host-cache-dir "$work" --tarball --output "$work/warmed.tar.gz" --json \
  -- python3 "$here/workloads.py" inductor >"$out/warm-host.json" 2>"$out/warm-host.stderr.txt"
end=$(date +%s.%N)
folder=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["folder"])' "$out/warm-host.json")
cp "$folder/mcm-warm.json" "$out/warm-host-manifest.json"
mcm list --cache-dir "$folder/triton" --json >"$work/list.json"
mcm stats --cache-dir "$folder/triton" >"$out/warm-host-stats.txt"
python3 - "$out" "$work/list.json" "$start" "$end" <<'PY'
import json, sys
out, listing, start, end = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
res = json.load(open(f"{out}/warm-host.json"))
kernels = json.load(open(listing))
summary = {
    "kernels_reported": res["kernels"],
    "kernels_listed": len(kernels),
    "targets": res["targets"],
    "caches": res["caches"],
    "archive_bytes": (res.get("archive") or {}).get("bytes"),
    "wall_seconds": round(end - start, 2),
    "names": sorted({k["name"] for k in kernels}),
    "pass": res["kernels"] == 55 and len(kernels) == 55,
}
json.dump(summary, open(f"{out}/warm-host-summary.json", "w"), indent=2)
print(json.dumps({k: v for k, v in summary.items() if k != "names"}))
PY
