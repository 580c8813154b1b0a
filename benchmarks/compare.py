"""Side-by-side comparison: fastprims against its peer, measured in one run.

    python benchmarks/compare.py --quick            # every family, small repeat counts
    python benchmarks/compare.py --family conv      # one family
    python benchmarks/compare.py --family activation --case softmax   # rows naming softmax

Each family contributes rows from benchmarks/cases/<family>.py: a function
`cases(quick, peers)` returning Case objects. Timing interleaves fastprims and
the peer call by call (so machine noise hits both alike) and reports medians.
The roofline is measured in the same run: memory-copy GB/s (np.copyto, read +
write bytes) and sgemm GFLOP/s (NumPy's BLAS, 2048^3).

The peer is PyTorch CPU when installed (THP_MEM_ALLOC_ENABLE=1 is set before
torch is imported, so it does not page-fault on every fresh tensor), else a
NumPy implementation; OpenCV and scikit-learn for their families.
"""
import os

os.environ.setdefault("THP_MEM_ALLOC_ENABLE", "1")

import argparse
import importlib
import math
import pkgutil
import statistics
import sys
import time
from dataclasses import dataclass, field
from typing import Callable, Optional

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)


@dataclass
class Case:
    family: str
    name: str
    fp: Callable[[], object]
    peer: Optional[Callable[[], object]]
    peer_name: str
    bytes: Optional[float] = None    # bytes the operation must move (for GB/s)
    flops: Optional[float] = None    # FLOPs (multiply-add = 2) for GFLOP/s
    target: str = ""                 # the bar, e.g. ">=2x" or ">=70% copy"
    extra: dict = field(default_factory=dict)  # more fastprims variants: label -> callable
    max_repeat: Optional[int] = None  # cap the rounds for cases whose peer takes seconds per call


class Peers:
    """Optional peer libraries, imported once; attributes are None when absent."""

    def __init__(self, threads):
        self.threads = threads
        self.torch = self._try("torch")
        if self.torch is not None:
            self.torch.set_num_threads(threads)
            # torch at its best: glibc serves blocks above its mmap threshold
            # (128 KiB at start) with fresh mmaps, page-faulting on every new
            # tensor, until freeing an mmapped block raises the threshold to
            # that block's size (at most 32 MiB). Which rows ran before a case
            # decided torch's speed by up to 3.7x (layer_norm (4096,1024):
            # 2.3 ms cold, 0.62 ms warm), so raise it once, on purpose.
            self.torch.empty(31 * 2**20 // 4, dtype=self.torch.float32).fill_(0)
        self.cv2 = self._try("cv2")
        if self.cv2 is not None:
            self.cv2.setNumThreads(threads)
        self.sklearn = self._try("sklearn")

    @staticmethod
    def _try(name):
        try:
            return importlib.import_module(name)
        except Exception:
            return None


def time_interleaved(fns, repeat, min_time=0.2, max_repeat=None):
    """Median seconds of each callable, calls interleaved round-robin."""
    t0 = time.perf_counter()
    for f in fns:
        f()  # warm-up: page faults, caches, lazy init
    once = max(time.perf_counter() - t0, 1e-7)
    rounds = max(repeat, min(200, int(min_time / once) + 1))
    if max_repeat is not None:
        rounds = min(rounds, max_repeat)
    samples = [[] for _ in fns]
    for _ in range(rounds):
        for i, f in enumerate(fns):
            t = time.perf_counter()
            f()
            samples[i].append(time.perf_counter() - t)
    return [statistics.median(s) for s in samples]


def roofline(quick, peers):
    n = (64 if quick else 256) * 2**20 // 4
    src = np.random.default_rng(0).random(n, dtype=np.float32)
    dst = np.empty_like(src)
    (t_copy,) = time_interleaved([lambda: np.copyto(dst, src)], 5)
    if peers.torch is not None:
        # np.copyto runs on one thread; torch's copy_ uses all of them, which is
        # the rate a multi-threaded kernel should be held to
        ts, td = peers.torch.from_numpy(src), peers.torch.from_numpy(dst)
        (t_tcopy,) = time_interleaved([lambda: td.copy_(ts)], 5)
        t_copy = min(t_copy, t_tcopy)
    k = 1024 if quick else 2048
    a = np.random.default_rng(1).random((k, k), dtype=np.float32)
    b = np.random.default_rng(2).random((k, k), dtype=np.float32)
    (t_gemm,) = time_interleaved([lambda: a @ b], 3)
    return 2 * src.nbytes / t_copy / 1e9, 2 * k**3 / t_gemm / 1e9


def fmt_ms(t):
    return "-" if t is None else f"{t * 1e3:9.3f}"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="fewer repeats, smaller roofline probes")
    ap.add_argument("--family", action="append", help="only these families (repeatable)")
    ap.add_argument("--case", action="append",
                    help="only rows whose name contains this text (repeatable)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=None)
    args = ap.parse_args(argv)

    import fastprims
    fastprims.set_num_threads(args.threads)
    peers = Peers(args.threads)
    repeat = args.repeat or (5 if args.quick else 15)

    copy_gbs, gemm_gflops = roofline(args.quick, peers)
    print(f"fastprims {fastprims.__version__}, {args.threads} threads; "
          f"peers: torch={'yes' if peers.torch else 'no'}, cv2={'yes' if peers.cv2 else 'no'}, "
          f"sklearn={'yes' if peers.sklearn else 'no'}")
    print(f"roofline (this run): memory copy {copy_gbs:.1f} GB/s (best of np.copyto and, with torch, its "
          f"{args.threads}-thread copy_), sgemm {gemm_gflops:.0f} GFLOP/s")

    import cases as case_pkg
    mods = sorted(m.name for m in pkgutil.iter_modules(case_pkg.__path__))
    if args.family:
        mods = [m for m in mods if m in args.family]
    hdr = (f"{'family':<11}{'case':<44}{'fastprims ms':>13}{'peer ms':>11}  {'peer':<12}"
           f"{'ratio':>7}  {'GB/s':>6} {'%copy':>6} {'GFLOP/s':>8}  target / variants")
    print(hdr)
    print("-" * len(hdr))
    ratios = {}
    for modname in mods:
        mod = importlib.import_module(f"cases.{modname}")
        for c in mod.cases(args.quick, peers):
            if args.case and not any(sub in c.name for sub in args.case):
                continue
            labels = list(c.extra)
            fns = [c.fp] + [c.extra[k] for k in labels] + ([c.peer] if c.peer else [])
            ts = time_interleaved(fns, repeat, max_repeat=c.max_repeat)
            t_fp = ts[0]
            t_peer = ts[-1] if c.peer else None
            ratio = (t_peer / t_fp) if t_peer else None
            gbs = c.bytes / t_fp / 1e9 if c.bytes else None
            gfl = c.flops / t_fp / 1e9 if c.flops else None
            variants = " ".join(f"{k}={t * 1e3:.3f}ms" for k, t in zip(labels, ts[1:1 + len(labels)]))
            print(f"{c.family:<11}{c.name:<44}{fmt_ms(t_fp):>13}{fmt_ms(t_peer):>11}  {c.peer_name:<12}"
                  f"{(f'{ratio:.2f}x' if ratio else '-'):>7}  "
                  f"{(f'{gbs:.1f}' if gbs else '-'):>6} {(f'{100 * gbs / copy_gbs:.0f}%' if gbs else '-'):>6} "
                  f"{(f'{gfl:.0f}' if gfl else '-'):>8}  {c.target} {variants}", flush=True)
            if ratio:
                ratios.setdefault(c.family, []).append(ratio)
    print()
    for fam, rs in ratios.items():
        gm = math.exp(sum(math.log(r) for r in rs) / len(rs))
        print(f"{fam}: geometric-mean speed-up over peer {gm:.2f}x over {len(rs)} rows (min {min(rs):.2f}x)")


if __name__ == "__main__":
    main()
