#!/usr/bin/env bash
# Nsight Compute profile of the fused pass's kernels at N = 16384, for a GPU
# machine set up as for run.sh. From the repository root:
#   bash bench/gpu/profile.sh [OUT_DIR]
# Profiles the first logit, dX and dY launches (after the check's cuBLAS
# references) of each setting in PROFILE_VARIANTS (default: the shipped
# kernels; comma-separated SIGLIP_CUDA_* settings, space-separated variants),
# or the first three launches of the kernels PROFILE_KERNELS names (a regex;
# e.g. 'toOperandRows|addSliceSums': the copies of X and Y and the warp sums),
# and writes per variant the details page (speed of light, warp stalls, pipes,
# shared memory), the SASS with per-instruction stall samples and their
# summary by stall reason, stretch of code and instruction (stall_summary.py).
set -uo pipefail
OUT_DIR=${1:-${OUT:-/tmp/siglip-profile}}
mkdir -p "$OUT_DIR"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=/tmp/siglip-gpu-build
source "$ROOT/bench/gpu/build.sh"
kernels=${PROFILE_KERNELS:-}  # also names the output files, beside the variant
for variant in ${PROFILE_VARIANTS:-default}; do
  name=${variant//[^A-Za-z0-9]/_}${kernels:+-${kernels//[^A-Za-z0-9]/_}}
  echo "== profile $variant (at ${SECONDS} s)"
  (
    [[ $variant == default ]] || { IFS=, && export $variant; }
    CHECK=0 SIZES=16384 PRECISIONS=bf16 TF32=0 MATERIALIZED=0 REPORT=/dev/null \
      timeout 240 ncu --clock-control none --set full --import-source yes \
      --kernel-name regex:"${PROFILE_KERNELS:-[Gg]emmKernel}" --launch-count 3 -f -o "/tmp/$name" \
      python3 "$ROOT/bench/gpu/check.py" "$BUILD/libsiglip_cuda_capi.so" /tmp > "/tmp/$name.log" 2>&1
    tail -5 "/tmp/$name.log"
  )
  ncu -i "/tmp/$name.ncu-rep" --page details --print-details all > "$OUT_DIR/$name-details.txt" 2>&1
  ncu -i "/tmp/$name.ncu-rep" --page source --csv --print-source sass 2> /dev/null | gzip > "$OUT_DIR/$name-sass.csv.gz"
  python3 "$ROOT/bench/gpu/stall_summary.py" "$OUT_DIR/$name-sass.csv.gz" > "$OUT_DIR/$name-stalls.txt" 2>&1
  grep -E "^  [a-zA-Z].*(${PROFILE_KERNELS:-[Gg]emmKernel})|Duration|Compute \(SM\) Throughput|Issue Slots Busy|No Eligible|Warp Cycles Per Issued|Tensor" "$OUT_DIR/$name-details.txt" | head -40
done
echo "== done at ${SECONDS} s"
