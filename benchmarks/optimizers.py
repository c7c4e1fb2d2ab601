"""Per-step cost of lrcourse.optim vs torch.optim on the seed MLP, and how far apart they end.

Run:  .venv/bin/python benchmarks/optimizers.py [--steps 200] [--repeats 25] [--train 1000]
      [--lr-free-only]

The seed MLP (2 → 50 → 3, batch 50, float32, one thread) with fixed gradients; only
`optimizer.step()` is timed, in blocks of --steps steps, the implementations interleaved block
by block so that a busy machine slows them alike. Printed per optimizer: the median µs per
step of ours, of torch's default (the for-loop on CPU: torch picks foreach only when every
parameter is on a foreach device such as CUDA), of torch foreach=True and fused=True where
torch has them (for reference), the ratio ours / torch default (target ≤ 1.3), and the max
|Δθ| between ours and torch's default after --train training steps in float64.

A second table does the same for the learning-rate-free optimizers against their official
packages (schedulefree 1.4.1 with its default foreach=True, prodigyopt 1.1.2, dadaptation 3.2;
see requirements-oracles.txt): median µs per step of ours and theirs (and of theirs with
foreach=False, "loop", for reference), the ratio ours / theirs (target ≤ 1.3) and max |Δθ|
after --train float64 steps. Fixed gradients would make D-Adaptation's estimate grow without
bound, so here every implementation trains its own copy on minibatches and only step() is
timed.
"""
import argparse
import copy
import inspect
import statistics
import time

import torch
from torch import nn
from torch.nn import functional as F
from torch.optim.optimizer import _default_to_fused_or_foreach

import lrcourse.optim as ours

LR_FREE = {  # name: (official module, default settings)
    "SGDScheduleFree": ("schedulefree", {}),
    "AdamWScheduleFree": ("schedulefree", {}),
    "Prodigy": ("prodigyopt", {}),
    "DAdaptAdam": ("dadaptation", {}),
    "DAdaptSGD": ("dadaptation", {}),
}

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
    parser.add_argument("--lr-free-only", action="store_true",
                        help="only the learning-rate-free optimizers' table")
    args = parser.parse_args()
    torch.set_num_threads(1)
    if args.lr_free_only:
        lr_free_table(args)
        return

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
    lr_free_table(args)


def official(name):
    import importlib
    return getattr(importlib.import_module(LR_FREE[name][0]), name)


def make_lr_free(cls, params, name, **extra):
    opt = cls(params, **LR_FREE[name][1], **extra)
    if hasattr(opt, "train"):  # schedule-free: the parameters hold y while training
        opt.train()
    return opt


def timed_steps(run, steps):
    """Seconds per step() over `steps` minibatch training steps (forward/backward untimed)."""
    opt, net, X, y, k = run["opt"], run["net"], run["X"], run["y"], run["k"]
    total = 0.0
    for _ in range(steps):
        i = (k % (len(X) // 50)) * 50
        opt.zero_grad()
        F.cross_entropy(net(X[i:i + 50]), y[i:i + 50]).backward()
        t0 = time.perf_counter()
        opt.step()
        total += time.perf_counter() - t0
        k += 1
    run["k"] = k
    return total / steps


def lr_free_times(name, steps, repeats):
    """Median seconds per step of ours, theirs (default) and theirs with foreach=False where
    the package has the switch; each trains its own copy of the seed MLP on minibatches."""
    X, y, model = problem(torch.float32)
    variants = {"ours": (getattr(ours, name), {}), "theirs": (official(name), {})}
    if "foreach" in inspect.signature(official(name)).parameters:
        variants["loop"] = (official(name), {"foreach": False})
    runs = {}
    for key, (cls, extra) in variants.items():
        net = copy.deepcopy(model)
        opt = make_lr_free(cls, net.parameters(), name, **extra)
        runs[key] = dict(opt=opt, net=net, X=X, y=y, k=0)
        timed_steps(runs[key], steps)  # warm-up
    times = {key: [] for key in runs}
    for _ in range(repeats):
        for key, run in runs.items():
            times[key].append(timed_steps(run, steps))
    return {key: statistics.median(t) for key, t in times.items()}


def lr_free_gap(name, n_steps, batch=50):
    X, y, model = problem(torch.float64)
    nets = [model, copy.deepcopy(model)]
    opts = [make_lr_free(cls, net.parameters(), name)
            for cls, net in zip((getattr(ours, name), official(name)), nets)]
    for k in range(n_steps):
        i = (k % (len(X) // batch)) * batch
        for net, opt in zip(nets, opts):
            opt.zero_grad()
            F.cross_entropy(net(X[i:i + batch]), y[i:i + batch]).backward()
            opt.step()
    return max((a - b).abs().max().item()
               for a, b in zip(nets[0].parameters(), nets[1].parameters()))


def lr_free_table(args):
    print(f"\nlearning-rate-free optimizers (default settings) vs their official packages")
    head = (f"{'optimizer':<18}{'ours':>8}{'theirs':>8}{'ratio':>7}   {'loop':>8}   "
            f"{'max |Δθ| f64':>13}")
    print(head)
    print("-" * len(head))
    ratios = []
    for name in LR_FREE:
        t = lr_free_times(name, args.steps, args.repeats)
        ratio = t["ours"] / t["theirs"]
        ratios.append(ratio)
        loop = f"{t['loop'] * 1e6:8.1f}" if "loop" in t else f"{'—':>8}"
        print(f"{name:<18}{t['ours'] * 1e6:8.1f}{t['theirs'] * 1e6:8.1f}{ratio:7.2f}   {loop}   "
              f"{lr_free_gap(name, args.train):13.1e}")
    print(f"\nworst ratio ours / official: {max(ratios):.2f} (target ≤ 1.30)")


if __name__ == "__main__":
    main()
