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
# checked and timed in its own process; the fastest correct one at N = 65536
# then gets the full check below, joined with the fastest correct setting of
# SIGLIP_CUDA_GRADS and of SIGLIP_CUDA_GRAD_STREAMS where each alone beats the
# shipped kernels (the logit and the gradient kernels are separate launches).
# VARIANTS=candidates: the candidates not yet measured (bench/gpu/NOTES.md),
# with the shipped kernel.
# The cluster ones come last: a hang in a cluster barrier (no trap there) costs
# the variant's whole time limit, 60 s (a variant should need under 30 s:
# start-up, 12 small checks, two sizes timed). A variant that could end after
# VARIANTS_UNTIL_S seconds of the run (default 400) is skipped, so that the
# full check and the Node check still fit the device tool's 600 s per call.
# Each variant's whole output and report go to OUT_DIR/variants/ (a failed
# check says there where the gradients are wrong); variants.log has the
# summary and the seconds each step ended at.
if [[ "${VARIANTS:-}" == candidates ]]; then
  VARIANTS="SIGLIP_CUDA_LOGITS=tiles SIGLIP_CUDA_EPILOGUE=lean"
  for logits in persistent persistent-4stages pingpong pingpong-inflight; do
    VARIANTS+=" SIGLIP_CUDA_LOGITS=$logits SIGLIP_CUDA_LOGITS=$logits,SIGLIP_CUDA_EPILOGUE=lean"
  done
  VARIANTS+=" SIGLIP_CUDA_GRADS=wide SIGLIP_CUDA_GRAD_STREAMS=two"
  VARIANTS+=" SIGLIP_CUDA_GRADS=cluster SIGLIP_CUDA_GRADS=wide-cluster"
fi
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
fastest = lambda rows: min(rows, key=lambda r: r[0]) if rows else None
grad_keys = {"SIGLIP_CUDA_GRADS", "SIGLIP_CUDA_GRAD_STREAMS"}
logits = fastest([r for r in runs if not set(r[1]) & grad_keys])
shipped = fastest([r for r in runs if r[1] == {"SIGLIP_CUDA_LOGITS": "tiles"}])
baseline = shipped or logits
settings = dict(logits[1]) if logits else {}
print(f"fastest correct: logits {logits}, shipped {shipped}", file=sys.stderr)
for key in sorted(grad_keys):  # each dX/dY setting that alone beats the baseline
    best = fastest([r for r in runs if set(r[1]) == {key}])
    print(f"fastest correct {key}: {best}", file=sys.stderr)
    if best and (baseline is None or best[0] < baseline[0]):
        settings.update(best[1])
print(",".join(f"{k}={v}" for k, v in sorted(settings.items())))
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
