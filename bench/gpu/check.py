"""Device check of the CUDA pass, for a GPU machine with PyTorch and no Node.

Loads libsiglip_cuda_capi.so (built by run.sh) through ctypes and passes it
PyTorch's device pointers. Prints, and writes to OUT_DIR:
  1. correctness against a float64 reference on fresh random inputs
     (bf16 rel. err <= 1e-2, tf32 <= 2e-3; outputs poisoned with NaN first),
     and bit-identical results on a second run; for a failed case, where the
     gradients are wrong (locate below), so that a broken kernel can be mended
     from one device run;
  2. timings of the fused pass at N = M in SIZES, D = 768, against PyTorch's
     materialized SigLIP loss (fwd+bwd, bf16) and cuBLAS bf16 GEMMs, in the same run.
Environment: SIZES, PRECISIONS (checked), TF32=0 (not timed), MATERIALIZED=0,
CHECK=0, LABEL, REPORT; SIGLIP_CUDA_* pick the kernel variants (siglip_cuda.cu).
"""
import ctypes
import json
import math
import os
import sys
import time

import torch
import torch.nn.functional as F

LIB = sys.argv[1]
OUT_DIR = sys.argv[2] if len(sys.argv) > 2 else "."
SIZES = [int(s) for s in os.environ.get("SIZES", "16384,65536,262144,1048576").split(",")]
D = 768
BF16, TF32 = 0, 1
DIAGONAL, NONE = 0, 1


class Problem(ctypes.Structure):
    _fields_ = [("n", ctypes.c_int64), ("m", ctypes.c_int64), ("dim", ctypes.c_int64),
                ("tPrime", ctypes.c_double), ("bias", ctypes.c_double),
                ("positives", ctypes.c_int), ("positiveOffset", ctypes.c_int64),
                ("precision", ctypes.c_int)]


class Scalars(ctypes.Structure):
    _fields_ = [("loss", ctypes.c_double), ("dTPrime", ctypes.c_double),
                ("dBias", ctypes.c_double), ("workspaceBytes", ctypes.c_size_t)]


lib = ctypes.CDLL(LIB)
lib.siglip_cuda_run_device.argtypes = [ctypes.POINTER(Problem)] + [ctypes.c_void_p] * 4 + [ctypes.POINTER(Scalars)]
lib.siglip_cuda_last_error.restype = ctypes.c_char_p
lib.siglip_cuda_gemm.restype = ctypes.c_char_p
report = {"device": torch.cuda.get_device_name(), "torch": torch.__version__, "checks": [], "timings": [],
          "variant": {k: v for k, v in os.environ.items() if k.startswith("SIGLIP_CUDA_")},
          "gemm": {"bf16": lib.siglip_cuda_gemm(BF16).decode(), "tf32": lib.siglip_cuda_gemm(TF32).decode()}}


def run(x, y, dx, dy, t_prime, bias, precision, positives=DIAGONAL, offset=0):
    p = Problem(x.shape[0], y.shape[0], x.shape[1], t_prime, bias, positives, offset, precision)
    s = Scalars()
    ptr = lambda t: ctypes.c_void_p(t.data_ptr() if t is not None else None)
    status = lib.siglip_cuda_run_device(ctypes.byref(p), ptr(x), ptr(y), ptr(dx), ptr(dy), ctypes.byref(s))
    if status != 0:
        raise RuntimeError(lib.siglip_cuda_last_error().decode())
    return s


def reference(x, y, t_prime, bias, positives, offset):
    x64, y64 = x.double(), y.double()
    n, m = x.shape[0], y.shape[0]
    dots = x64 @ y64.T
    logits = math.exp(t_prime) * dots + bias
    labels = -torch.ones_like(logits)
    if positives == DIAGONAL:
        rows = torch.arange(n, device=x.device)
        cols = rows + offset
        keep = (cols >= 0) & (cols < m)
        labels[rows[keep], cols[keep]] = 1
    loss = F.softplus(-labels * logits).sum() / n
    g = (torch.sigmoid(logits) - (labels > 0).double()) / n
    t = math.exp(t_prime)
    scale = t * (g.abs() * x64.norm(dim=1, keepdim=True) * y64.norm(dim=1)).sum().item()
    return dict(loss=loss.item(), dx=t * g @ y64, dy=t * g.T @ x64, dTPrime=t * (g * dots).sum().item(),
                dBias=g.sum().item(), dTPrimeScale=scale)


def unit_rows(rows, dim, gen):
    v = torch.randn(rows, dim, device="cuda", generator=gen)
    return v / v.norm(dim=1, keepdim=True)


def spans(indices, limit=6):
    """Sorted indices as ranges: '0-127, 256, 384-511 (+2 more)'."""
    runs = []
    for i in indices:
        if runs and i == runs[-1][1] + 1:
            runs[-1][1] = i
        else:
            runs.append([i, i])
    text = ", ".join(f"{a}-{b}" if a != b else f"{a}" for a, b in runs[:limit])
    return (text or "none") + (f" (+{len(runs) - limit} more)" if len(runs) > limit else "")


def locate(got, want, tol, block=64):
    """Where a gradient is wrong, to find a broken tile without another run: the
    elements still NaN (never written), and the rows and 64-column blocks whose
    error exceeds tol relative to a typical row or block. A wrong G tile at (row
    tile i, column tile j) shows as bad dX rows in tile i and bad dY rows in tile j."""
    unwritten = torch.isnan(got)
    diff = torch.where(unwritten, torch.zeros_like(want), got.double() - want)
    rows, cols = want.shape
    row_scale = want.norm().item() / math.sqrt(rows)
    bad_rows = (diff.norm(dim=1) > tol * row_scale) | unwritten.any(dim=1)
    bad_blocks = [c // block for c in range(0, cols, block)
                  if diff[:, c:c + block].norm() > tol * want[:, c:c + block].norm()
                  or unwritten[:, c:c + block].any()]
    return dict(unwritten=int(unwritten.sum().item()), rows=rows,
                badRows=spans(torch.nonzero(bad_rows).flatten().tolist()),
                badColumnBlocks=spans(bad_blocks))


def differing_rows(a, b):
    """Rows that differ between two runs (a race shows here); NaN in both is no difference."""
    differ = (a != b) & ~(torch.isnan(a) & torch.isnan(b))
    return spans(torch.nonzero(differ.any(dim=1)).flatten().tolist())


def correctness():
    gen = torch.Generator(device="cuda")
    gen.manual_seed(int(time.time() * 1000) % (2**31))  # fresh inputs every run
    cases = [
        dict(n=1, m=1, dim=8), dict(n=129, m=257, dim=17), dict(n=1000, m=1300, dim=200),
        dict(n=4096, m=4096, dim=768), dict(n=20000, m=300, dim=96),  # two row chunks
        dict(n=300, m=9000, dim=96),  # two column chunks
        dict(n=700, m=600, dim=64, offset=-250), dict(n=500, m=800, dim=64, offset=130),
        dict(n=640, m=640, dim=64, positives=NONE),
        dict(n=512, m=512, dim=128, t_prime=math.log(1e3), bias=-50.0),
        dict(n=512, m=512, dim=128, t_prime=math.log(1e3), bias=50.0),
        dict(n=2000, m=3000, dim=1152),
    ]
    ok = True
    for case in cases:
        n, m, dim = case["n"], case["m"], case["dim"]
        t_prime, bias = case.get("t_prime", math.log(10)), case.get("bias", -10.0)
        positives, offset = case.get("positives", DIAGONAL), case.get("offset", 0)
        x, y = unit_rows(n, dim, gen), unit_rows(m, dim, gen)
        ref = reference(x, y, t_prime, bias, positives, offset)
        for precision, name, tol in ((BF16, "bf16", 1e-2), (TF32, "tf32", 2e-3)):
            if name not in os.environ.get("PRECISIONS", "bf16,tf32").split(","):
                continue
            dx = torch.full_like(x, float("nan"))
            dy = torch.full_like(y, float("nan"))
            try:
                s = run(x, y, dx, dy, t_prime, bias, precision, positives, offset)
                loss_only = run(x, y, None, None, t_prime, bias, precision, positives, offset).loss
            except RuntimeError as e:  # a failed launch; the context is lost for the later cases
                raise RuntimeError(f"{name} {case}: {e}") from e
            errors = {
                "loss": abs(s.loss - ref["loss"]) / abs(ref["loss"]),
                "lossOnly": abs(loss_only - ref["loss"]) / abs(ref["loss"]),
                "dx": ((dx.double() - ref["dx"]).norm() / ref["dx"].norm()).item(),
                "dy": ((dy.double() - ref["dy"]).norm() / ref["dy"].norm()).item(),
                "dTPrime": abs(s.dTPrime - ref["dTPrime"]) / max(abs(ref["dTPrime"]), ref["dTPrimeScale"]),
                "dBias": abs(s.dBias - ref["dBias"]) / abs(ref["dBias"]),
            }
            dx2, dy2 = torch.empty_like(x), torch.empty_like(y)
            s2 = run(x, y, dx2, dy2, t_prime, bias, precision, positives, offset)
            identical = bool(torch.equal(dx, dx2) and torch.equal(dy, dy2) and s.loss == s2.loss and s.dTPrime == s2.dTPrime)
            worst = max(errors.values())
            passed = worst <= tol and identical and not math.isnan(worst)
            ok &= passed
            row = dict(case=case, precision=name, errors=errors, identical=identical, passed=passed)
            print(f"{'PASS' if passed else 'FAIL'} {name} {case} worst={worst:.2e} identical={identical} "
                  + " ".join(f"{k}={v:.1e}" for k, v in errors.items()), flush=True)
            if not passed:
                try:
                    row["where"] = {"dx": locate(dx, ref["dx"], tol), "dy": locate(dy, ref["dy"], tol),
                                    "rerunDx": differing_rows(dx, dx2), "rerunDy": differing_rows(dy, dy2),
                                    "lossRerun": [s.loss, s2.loss], "lossOnly": loss_only, "lossRef": ref["loss"]}
                except Exception as e:  # the diagnosis must not end the run
                    row["where"] = {"error": repr(e)}
                for key, value in row["where"].items():
                    print(f"  {key}: {value}", flush=True)
            report["checks"].append(row)
    return ok


def cuda_time(fn, repeats):
    fn()  # warm-up
    torch.cuda.synchronize()
    times = []
    for _ in range(repeats):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        end.record()
        torch.cuda.synchronize()
        times.append(start.elapsed_time(end))
    times.sort()
    return times[len(times) // 2]


def timings():
    def add(kind, n, ms, flops, extra=None):
        row = dict(kind=kind, n=n, d=D, ms=ms, tflops=flops / ms / 1e9, **(extra or {}))
        report["timings"].append(row)
        print(f"{kind:<34} N={n:<8} {ms:10.2f} ms {row['tflops']:7.1f} TFLOP/s {extra or ''}", flush=True)

    label = os.environ.get("LABEL", "siglip-loss")
    a = torch.randn(8192, 8192, device="cuda", dtype=torch.bfloat16)
    b = torch.randn(8192, 8192, device="cuda", dtype=torch.bfloat16)
    add("cuBLAS bf16 GEMM 8192^3", 8192, cuda_time(lambda: a @ b, 20), 2 * 8192**3)
    a = torch.randn(16384, 768, device="cuda", dtype=torch.bfloat16)
    b = torch.randn(8192, 768, device="cuda", dtype=torch.bfloat16)
    add("cuBLAS bf16 GEMM 16384x8192x768", 16384, cuda_time(lambda: a @ b.T, 20), 2 * 16384 * 8192 * 768)
    del a, b

    for n in SIZES:
        gen = torch.Generator(device="cuda")
        gen.manual_seed(n)
        x, y = unit_rows(n, D, gen), unit_rows(n, D, gen)
        dx, dy = torch.empty_like(x), torch.empty_like(y)
        flops = 6.0 * n * n * D
        repeats = 10 if n <= 65536 else (3 if n <= 262144 else 1)
        for precision, name in ((BF16, "bf16"), (TF32, "tf32")):
            if precision == TF32 and (n > 65536 or os.environ.get("TF32", "1") == "0"):
                continue
            lib.siglip_cuda_release()
            torch.cuda.synchronize()
            free_before = torch.cuda.mem_get_info()[0]
            holder = {}
            holder["s"] = run(x, y, dx, dy, math.log(10), -10.0, precision)
            torch.cuda.synchronize()
            extra_bytes = free_before - torch.cuda.mem_get_info()[0]
            ms = cuda_time(lambda: run(x, y, dx, dy, math.log(10), -10.0, precision), repeats) if repeats > 1 else None
            if ms is None:
                start = time.perf_counter()
                run(x, y, dx, dy, math.log(10), -10.0, precision)
                torch.cuda.synchronize()
                ms = (time.perf_counter() - start) * 1e3
            add(f"{label} fused {name} fwd+bwd", n, ms, flops,
                dict(extraGiB=round(extra_bytes / 2**30, 3), workspaceGiB=round(holder["s"].workspaceBytes / 2**30, 3)))
            if precision == BF16 and n <= 65536:
                ms_loss = cuda_time(lambda: run(x, y, None, None, math.log(10), -10.0, precision), repeats)
                add(f"{label} loss-only bf16", n, ms_loss, 2.0 * n * n * D)
        del dx, dy
        if n <= 65536 and os.environ.get("MATERIALIZED", "1") == "1":
            xb = x.bfloat16().requires_grad_()
            yb = y.bfloat16().requires_grad_()
            t_prime = torch.tensor(math.log(10), device="cuda", requires_grad=True)
            bias = torch.tensor(-10.0, device="cuda", requires_grad=True)

            def materialized():
                logits = t_prime.exp() * (xb @ yb.T) + bias
                labels = 2 * torch.eye(n, device="cuda", dtype=logits.dtype) - 1
                loss = -F.logsigmoid(labels * logits).sum() / n
                loss.backward()

            try:
                torch.cuda.reset_peak_memory_stats()
                base = torch.cuda.memory_allocated()
                ms = cuda_time(materialized, 5)
                peak = (torch.cuda.max_memory_allocated() - base) / 2**30
                add("PyTorch materialized bf16 fwd+bwd", n, ms, flops, dict(peakGiB=round(peak, 2)))
            except torch.cuda.OutOfMemoryError as e:
                print(f"PyTorch materialized N={n}: out of memory ({e})", flush=True)
            del xb, yb
        del x, y
        torch.cuda.empty_cache()


if __name__ == "__main__":
    print("device:", report["device"], "torch", torch.__version__, "GEMM:", report["gemm"], flush=True)
    report["correct"] = False  # until the checks say otherwise (a failed launch ends the run)
    try:
        correct = correctness() if os.environ.get("CHECK", "1") == "1" else True
        report["correct"] = correct
        timings()
    finally:
        with open(os.path.join(OUT_DIR, os.environ.get("REPORT", "gpu-report.json")), "w") as f:
            json.dump(report, f, indent=1)
    print("correctness:", "PASS" if correct else "FAIL", flush=True)
    sys.exit(0 if correct else 1)
