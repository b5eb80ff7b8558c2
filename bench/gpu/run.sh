#!/usr/bin/env bash
# Device check of the CUDA backend, for a GPU machine with nvcc, cmake and
# PyTorch but no network and no Node (e.g. the H100/H200 machine lent to a
# session). From the repository root:  bash bench/gpu/run.sh [OUT_DIR]
# Builds the C interface with sm_90a, optionally compares kernel variants
# (VARIANTS), runs check.py (correctness, then timings against PyTorch in the
# same run), optionally times the WMMA GEMM path of the same build
# (WMMA_BASELINE=1) and, if .device/node.xz and .device/pkg were carried (see
# bench/gpu/NOTES.md, "Running the check"), the Node API on the GPU. Each step
# has a time limit, so a hung kernel cannot hold the machine.
set -uo pipefail
OUT_DIR=${1:-${OUT:-/tmp/siglip-gpu}}
mkdir -p "$OUT_DIR"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=/tmp/siglip-gpu-build

nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.max.sm --format=csv | tee "$OUT_DIR/nvidia-smi.txt"
echo "== build"
source "$ROOT/bench/gpu/build.sh"
grep -E "registers|spill" "$OUT_DIR/build.log" | sort | uniq -c | head -20
cuobjdump --dump-sass "$BUILD/libsiglip_cuda_capi.so" > "$OUT_DIR/sass.txt" 2>/dev/null
echo "tensor-core instructions in the build: HGMMA $(grep -c HGMMA "$OUT_DIR/sass.txt") HMMA $(grep -c HMMA "$OUT_DIR/sass.txt") UTMALDG $(grep -c UTMALDG "$OUT_DIR/sass.txt")"
gzip -f "$OUT_DIR/sass.txt"

# Optional kernel variants, VARIANTS="A B ...", each a comma-separated list of
# SIGLIP_CUDA_* settings (e.g. SIGLIP_CUDA_MAX_CHUNK=8192, SIGLIP_CUDA_GEMM=wmma),
# checked and timed in its own process (60 s limit: a variant needs under
# 10 s); the fastest correct one at N = 65536 then gets the full check below.
# A variant that could end after VARIANTS_UNTIL_S seconds of the run (default
# 400) is skipped, so that the full check and the Node check still fit the
# device tool's 600 s per call. Each variant's whole output and report go to
# OUT_DIR/variants/ (a failed check says there where the gradients are wrong);
# variants.log has the summary and the seconds each step started at.
: > "$OUT_DIR/variants.log"
mkdir -p "$OUT_DIR/variants"
for variant in ${VARIANTS:-}; do
  if ((SECONDS + 60 > ${VARIANTS_UNTIL_S:-400})); then
    echo "== variant $variant SKIPPED: the run is at ${SECONDS} s" | tee -a "$OUT_DIR/variants.log"
    continue
  fi
  echo "== variant $variant (run at ${SECONDS} s)" | tee -a "$OUT_DIR/variants.log"
  name=${variant//[^A-Za-z0-9]/_}
  (
    IFS=, && export $variant
    PRECISIONS=bf16 TF32=0 MATERIALIZED=0 SIZES=16384,65536 LABEL="$variant" \
      REPORT="$name.json" PYTHONUNBUFFERED=1 \
      timeout 60 python3 "$ROOT/bench/gpu/check.py" "$BUILD/libsiglip_cuda_capi.so" "$OUT_DIR/variants" 2>&1 |
      tee "$OUT_DIR/variants/$name.log" |
      grep -E "^(FAIL|PASS|  )|fused|loss-only|correctness|Error|error" | tee -a "$OUT_DIR/variants.log"
    [[ ${PIPESTATUS[0]} == 124 ]] && echo "TIMEOUT: no result in 60 s (a hang?)" | tee -a "$OUT_DIR/variants.log"
  )
done
best=$(OUT_DIR="$OUT_DIR" python3 - 2>> "$OUT_DIR/variants.log" <<'PY'
import glob, json, os, sys
runs = []  # (fused ms at N = 65536, settings) of the correct variants
for path in glob.glob(os.path.join(os.environ["OUT_DIR"], "variants", "*.json")):
    r = json.load(open(path))
    ms = [t["ms"] for t in r["timings"] if t["n"] == 65536 and "fused" in t["kind"]]
    if r.get("correct") and ms:
        runs.append((ms[0], r["variant"]))
best = min(runs, key=lambda r: r[0]) if runs else None
print(f"fastest correct: {best}", file=sys.stderr)
print(",".join(f"{k}={v}" for k, v in sorted(best[1].items())) if best else "")
PY
)
[[ -n "${VARIANTS:-}" ]] && echo "full check with: ${best:-the shipped kernels (no variant was correct)}" | tee -a "$OUT_DIR/variants.log"
if [[ -n "$best" ]]; then IFS=, && export $best && unset IFS; fi

echo "== correctness and timings, run at ${SECONDS} s ($(env | grep ^SIGLIP_CUDA_ | tr '\n' ' '))"
PYTHONUNBUFFERED=1 timeout "${CHECK_TIMEOUT:-300}" python3 "$ROOT/bench/gpu/check.py" "$BUILD/libsiglip_cuda_capi.so" "$OUT_DIR" 2>&1 | tee "$OUT_DIR/check.log"
status=${PIPESTATUS[0]}

if [[ "${WMMA_BASELINE:-0}" == 1 ]]; then
  echo "== the WMMA GEMM path of the same build, timed on the same card"
  SIGLIP_CUDA_GEMM=wmma CHECK=0 MATERIALIZED=0 TF32=0 LABEL=wmma SIZES=16384,65536 REPORT=wmma-report.json \
    PYTHONUNBUFFERED=1 timeout 120 python3 "$ROOT/bench/gpu/check.py" "$BUILD/libsiglip_cuda_capi.so" "$OUT_DIR" 2>&1 |
    tee "$OUT_DIR/wmma.log"
fi

if [[ -f "$ROOT/.device/node.xz" && -d "$ROOT/.device/pkg" ]]; then
  echo "== Node API on the GPU, run at ${SECONDS} s"
  xz -dc "$ROOT/.device/node.xz" > /tmp/node && chmod +x /tmp/node
  (cd "$ROOT/.device/pkg" && timeout 120 /tmp/node "$ROOT/bench/gpu/node-check.js") 2>&1 | tee "$OUT_DIR/node-check.log"
fi
echo "== done at ${SECONDS} s"
exit "$status"
