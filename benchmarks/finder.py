"""Our LR range test vs torch-lr-finder's ``LRFinder``: same model, data, batches and ramp.

Run:  .venv/bin/python benchmarks/finder.py   (offline; ~1 min on a quiet 2-core machine)

For each case both tools start from the same weights, see the same batches in the same
order and use the same exponential ramp (1e-7 → 10 over 100 steps).  Printed:
1. a sanity line: with smoothing and early stopping off, the two record the same raw losses;
2. each tool with its own defaults (ours: debiased EMA β = 0.98, stop at 4× best;
   torch-lr-finder: EMA with weight 0.05 on the new loss (β = 0.95) started at L_0, stop at
   5× best) — our three suggestions beside its one ("steepest gradient");
3. our ``steep`` with torch-lr-finder's smoothing and stop (β = 0.95, 5×), the like-for-like
   comparison of the one rule both implement;
4. the median wall time of each test (model/optimizer restore included; plotting not).
On the noisy quadratic the stability edge 2/λ_max is known and printed too.
"""
from __future__ import annotations

import contextlib
import io
import math
import statistics
import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from sklearn.datasets import make_blobs  # noqa: E402
from torch.utils.data import DataLoader, TensorDataset  # noqa: E402
from torch_lr_finder import LRFinder  # noqa: E402

from lrcourse.choosing.finder import lr_range_test  # noqa: E402

START, END, N, REPEATS = 1e-7, 10.0, 100, 5


class NoisyQuadratic(torch.nn.Module):
    """L(θ; x) = ½ mean_b (θ − x_b)ᵀ H (θ − x_b), λ(H) known."""

    def __init__(self, H, theta0):
        super().__init__()
        self.theta = torch.nn.Parameter(theta0.clone())
        self.register_buffer("H", H)

    def forward(self, x):
        r = self.theta - x
        return 0.5 * torch.einsum("bi,ij,bj->b", r, self.H, r).mean()


def blobs_case(opt_name):
    x, y = make_blobs(n_samples=500, centers=3, random_state=0)
    loader = DataLoader(TensorDataset(torch.tensor(x, dtype=torch.float32), torch.tensor(y)), batch_size=50)

    def make_model():
        torch.manual_seed(0)
        return torch.nn.Sequential(torch.nn.Linear(2, 50), torch.nn.ReLU(), torch.nn.Linear(50, 3))

    def make_opt(params):
        return torch.optim.SGD(params, lr=START) if opt_name == "SGD" else torch.optim.Adam(params, lr=START)

    return f"blobs MLP 2→50→3, {opt_name}", make_model, make_opt, loader, torch.nn.functional.cross_entropy, None


def quadratic_case():
    lams = [4.0, 2.0, 1.0, 0.5, 0.25, 0.1]
    gen = torch.Generator().manual_seed(0)
    q, _ = torch.linalg.qr(torch.randn(6, 6, generator=gen, dtype=torch.float64))
    H = q @ torch.diag(torch.tensor(lams, dtype=torch.float64)) @ q.T
    theta0 = 3.0 * torch.randn(6, generator=gen, dtype=torch.float64)  # away from the optimum 0
    x = torch.randn(N * 10, 6, generator=gen, dtype=torch.float64)
    loader = DataLoader(TensorDataset(x, torch.zeros(len(x))), batch_size=10)
    return ("noisy quadratic, SGD", lambda: NoisyQuadratic(H, theta0), lambda p: torch.optim.SGD(p, lr=START),
            loader, lambda out, _y: out, 2.0 / max(lams))


def run_ours(make_model, make_opt, loader, loss_fn, **kw):
    model = make_model()
    t = time.perf_counter()
    res = lr_range_test(model, make_opt(model.parameters()), loader, loss_fn,
                        start_lr=START, end_lr=END, num_iter=N, **kw)
    return res, time.perf_counter() - t


def run_theirs(make_model, make_opt, loader, loss_fn, smooth_f=0.05, diverge_th=5):
    model = make_model()
    quiet = io.StringIO()
    with contextlib.redirect_stdout(quiet), contextlib.redirect_stderr(quiet):
        t = time.perf_counter()
        finder = LRFinder(model, make_opt(model.parameters()), loss_fn, device="cpu")
        finder.range_test(loader, start_lr=START, end_lr=END, num_iter=N, step_mode="exp",
                          smooth_f=smooth_f, diverge_th=diverge_th)
        finder.reset()
        elapsed = time.perf_counter() - t
        fig, ax = plt.subplots()
        try:
            _, suggestion = finder.plot(ax=ax, skip_start=10, skip_end=5, suggest_lr=True)
        except RuntimeError:  # fewer than 17 points recorded
            suggestion = math.nan
        plt.close(fig)
    return finder.history, suggestion, elapsed


def main():
    torch.set_num_threads(1)
    cases = [blobs_case("SGD"), blobs_case("Adam"), quadratic_case()]
    for name, make_model, make_opt, loader, loss_fn, edge in cases:
        print(f"\n=== {name}: ramp {START:g} → {END:g} over {N} steps"
              + (f"; stability edge 2/λ_max = {edge:.3g}" if edge else ""))
        ours_raw, _ = run_ours(make_model, make_opt, loader, loss_fn, smooth=0.0, diverge_factor=math.inf)
        theirs_raw, _, _ = run_theirs(make_model, make_opt, loader, loss_fn, smooth_f=0.0, diverge_th=math.inf)
        n = min(len(ours_raw.losses), len(theirs_raw["loss"]))
        finite = np.isfinite(ours_raw.losses[:n])
        diff = np.abs(ours_raw.losses[:n] / np.array(theirs_raw["loss"][:n]) - 1)[finite]
        lr_diff = np.max(np.abs(ours_raw.lrs[:n] / np.array(theirs_raw["lr"][:n]) - 1))
        print(f"  same raw losses with smoothing/stop off: {n} steps, max relative ΔL = {diff.max():.2g}, "
              f"max relative Δη = {lr_diff:.2g}")

        times_ours, times_theirs = [], []
        for _ in range(REPEATS):
            ours, t_o = run_ours(make_model, make_opt, loader, loss_fn)
            theirs, sug_theirs, t_t = run_theirs(make_model, make_opt, loader, loss_fn)
            times_ours.append(t_o)
            times_theirs.append(t_t)
        matched, _ = run_ours(make_model, make_opt, loader, loss_fn, smooth=0.95, diverge_factor=5.0)
        stop_o = f"{ours.stop_lr:.3g}" if ours.stop_lr else "no stop"
        stop_t = f"{theirs['lr'][-1]:.3g}" if len(theirs["lr"]) < N else "no stop"
        s = ours.suggestions
        print(f"  {'':34s}{'lrcourse':>14s}{'torch-lr-finder':>18s}")
        print(f"  {'stopped at η':34s}{stop_o:>14s}{stop_t:>18s}")
        print(f"  {'valley':34s}{s['valley'].lr:14.3g}{'—':>18s}")
        print(f"  {'steep (own defaults)':34s}{s['steep'].lr:14.3g}{sug_theirs:18.3g}")
        print(f"  {'steep (β=0.95, stop 5×, both)':34s}{matched.suggestions['steep'].lr:14.3g}{sug_theirs:18.3g}")
        print(f"  {'minimum/10':34s}{s['minimum/10'].lr:14.3g}{'—':>18s}")
        t_o, t_t = statistics.median(times_ours), statistics.median(times_theirs)
        print(f"  {'wall time, median of %d (ms)' % REPEATS:34s}{1e3 * t_o:14.1f}{1e3 * t_t:18.1f}"
              f"   ratio theirs/ours = {t_t / t_o:.2f}")


if __name__ == "__main__":
    main()
