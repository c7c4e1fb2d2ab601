"""Per-step cost of lrcourse.optim vs torch.optim on the seed MLP, and how far apart they end.

Run:  .venv/bin/python benchmarks/optimizers.py [--steps 200] [--repeats 25] [--train 1000]

The seed MLP (2 → 50 → 3, batch 50, float32, one thread) with fixed gradients; only
`optimizer.step()` is timed, in blocks of --steps steps, the implementations interleaved block
by block so that a busy machine slows them alike. Printed per optimizer: the median µs per
step of ours, of torch's default (the for-loop on CPU: torch picks foreach only when every
parameter is on a foreach device such as CUDA), of torch foreach=True and fused=True where
torch has them (for reference), the ratio ours / torch default (target ≤ 1.3), and the max
|Δθ| between ours and torch's default after --train training steps in float64.
"""
import argparse
import copy
import statistics
import time

import torch
from torch import nn
from torch.nn import functional as F
from torch.optim.optimizer import _default_to_fused_or_foreach

import lrcourse.optim as ours

SETTINGS = {  # the usual way each is run
    "SGD": dict(lr=0.05, momentum=0.9),
    "Adagrad": dict(lr=0.05),
    "RMSprop": dict(lr=1e-3),
    "Adadelta": dict(),
    "Adam": dict(lr=1e-3),
    "AdamW": dict(lr=1e-3),
}
HAS_FUSED = {"SGD", "Adagrad", "Adam", "AdamW"}


def problem(dtype, seed=0, n=500, hidden=50):
    """make_blobs-like data (3 blobs in 2-D) and the seed MLP, drawn from `seed`."""
    g = torch.Generator().manual_seed(seed)
    centers = 3 * torch.randn(3, 2, generator=g, dtype=dtype)
    y = torch.randint(0, 3, (n,), generator=g)
    X = centers[y] + torch.randn(n, 2, generator=g, dtype=dtype)
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(2, hidden), nn.ReLU(), nn.Linear(hidden, 3)).to(dtype)
    return X, y, model


def step_time(opt, steps):
    t0 = time.perf_counter()
    for _ in range(steps):
        opt.step()
    return (time.perf_counter() - t0) / steps


def time_steps(name, steps, repeats):
    """Median seconds per step for each implementation, interleaved block by block."""
    X, y, model = problem(torch.float32)
    variants = {"ours": (ours, {}), "torch": (torch.optim, {}),
                "foreach": (torch.optim, {"foreach": True})}
    if name in HAS_FUSED:
        variants["fused"] = (torch.optim, {"fused": True})
    opts = {}
    for key, (module, extra) in variants.items():
        net = copy.deepcopy(model)
        F.cross_entropy(net(X[:50]), y[:50]).backward()  # fixed gradients: only step() is timed
        opts[key] = getattr(module, name)(net.parameters(), **SETTINGS[name], **extra)
        step_time(opts[key], steps)  # warm-up (state allocation, first-call costs)
    times = {key: [] for key in opts}
    for _ in range(repeats):
        for key, opt in opts.items():
            times[key].append(step_time(opt, steps))
    return {key: statistics.median(t) for key, t in times.items()}


def max_gap(name, n_steps, batch=50):
    """max |θ_ours − θ_torch| after n_steps of minibatch training in float64."""
    X, y, model = problem(torch.float64)
    nets = [model, copy.deepcopy(model)]
    opts = [getattr(m, name)(net.parameters(), **SETTINGS[name])
            for m, net in zip((ours, torch.optim), nets)]
    for k in range(n_steps):
        i = (k % (len(X) // batch)) * batch
        for net, opt in zip(nets, opts):
            opt.zero_grad()
            F.cross_entropy(net(X[i:i + batch]), y[i:i + batch]).backward()
            opt.step()
    return max((a - b).abs().max().item()
               for a, b in zip(nets[0].parameters(), nets[1].parameters()))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=200, help="steps per timed block")
    parser.add_argument("--repeats", type=int, default=25, help="timed blocks per variant")
    parser.add_argument("--train", type=int, default=1000, help="float64 steps for max |Δθ|")
    args = parser.parse_args()
    torch.set_num_threads(1)

    _, _, model = problem(torch.float32)
    fused, foreach = _default_to_fused_or_foreach(list(model.parameters()), False, False)
    default = "fused" if fused else "foreach" if foreach else "for-loop"
    print(f"torch {torch.__version__}, 1 thread, MLP 2→50→3, batch 50, float32; "
          f"torch's default here: {default}")
    print(f"median µs per step over {args.repeats} blocks of {args.steps} steps; "
          f"max |Δθ| (ours vs torch default) after {args.train} float64 steps\n")
    head = (f"{'optimizer':<10}{'ours':>8}{'torch':>8}{'ratio':>7}   "
            f"{'foreach':>8}{'fused':>8}   {'max |Δθ| f64':>13}")
    print(head)
    print("-" * len(head))
    ratios = []
    for name in SETTINGS:
        t = time_steps(name, args.steps, args.repeats)
        ratio = t["ours"] / t["torch"]
        ratios.append(ratio)
        fused_us = f"{t['fused'] * 1e6:8.1f}" if "fused" in t else f"{'—':>8}"
        print(f"{name:<10}{t['ours'] * 1e6:8.1f}{t['torch'] * 1e6:8.1f}{ratio:7.2f}   "
              f"{t['foreach'] * 1e6:8.1f}{fused_us}   {max_gap(name, args.train):13.1e}")
    print(f"\nworst ratio ours / torch default: {max(ratios):.2f} (target ≤ 1.30)")


if __name__ == "__main__":
    main()
