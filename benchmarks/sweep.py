"""Batched learning-rate sweep vs ordinary training, side by side in one run.

The seed experiment: MLP 2 → 50 ReLU → 3 on blobs (500 training points), batch 50,
200 epochs, float32, plain SGD, one thread. Prints the median time of

  one            one ordinary run, ``train`` with ``torch.optim.SGD``
  K=16           ``sweep_lr`` over 16 learning rates (one batched computation)
  K=64           ``sweep_lr`` over 64 learning rates
  K=256          ``sweep_lr`` over 256 learning rates
  …, eval 1/10   the same with ``eval_every=10``: the hold-out split and the training AUC
                 scored after every 10th epoch (and the last) instead of every epoch
  seq16          the same 16 learning rates as 16 ordinary runs, one after another

and each one's ratio to one ordinary run (targets, issue 10: K=16 ≤ 1.5×, K=64 ≤ 3×,
K=256 ≤ 8×), in wall time and in this process's CPU time (steadier when other processes
share the cores). The cases are interleaved round by round so that a busy machine slows them
all alike; the load average before and after is printed with them. No torch.compile.

    python benchmarks/sweep.py [--rounds 3] [--threads 1] [--quick] [--two-threads]
"""
from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np
import torch

from lrcourse import data as datasets
from lrcourse.training.loop import train
from lrcourse.training.models import mlp
from lrcourse.training.sweep import sweep_lr

EPOCHS, BATCH = 200, 50


def etas(K):
    return np.logspace(-3, 0, K)  # 0.001 … 1: all stable on blobs in float32


def one_run(data, eta=0.05, threads=1):
    model = mlp((2, 50, 3), seed=0)
    opt = torch.optim.SGD(model.parameters(), lr=eta)
    return train(model, opt, data, epochs=EPOCHS, batch_size=BATCH, seed=0, progress=False, threads=threads)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds (median is reported)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads for every case")
    parser.add_argument("--quick", action="store_true", help="leave out the slow rows (K=256 every epoch, seq16)")
    parser.add_argument("--two-threads", action="store_true",
                        help="add a K=64 row with 2 threads (slow when other processes hold a core)")
    args = parser.parse_args()

    data = datasets.blobs(0)
    t = args.threads

    def sweep(K, eval_every=1, threads=t):
        return lambda: sweep_lr(etas(K), data, epochs=EPOCHS, batch_size=BATCH, eval_every=eval_every,
                                progress=False, threads=threads)

    cases = {
        "one run (train)": lambda: one_run(data, threads=t),
        "K=16 batched (sweep_lr)": sweep(16),
        "K=64 batched (sweep_lr)": sweep(64),
        "K=256 batched (sweep_lr)": sweep(256),
        "K=16, eval 1/10": sweep(16, 10),
        "K=64, eval 1/10": sweep(64, 10),
        "K=256, eval 1/10": sweep(256, 10),
        "K=16 sequential (16 × train)": lambda: [one_run(data, eta, threads=t) for eta in etas(16)],
    }
    if args.two_threads:
        # two threads pay off for a large K on an idle machine and cost a lot on a busy one
        # (54× one run with a load of 10 on 2 cores), which is why sweep_lr's default is one
        cases["K=64 batched, 2 threads"] = sweep(64, threads=2)
    if args.quick:
        for name in ("K=256 batched (sweep_lr)", "K=16 sequential (16 × train)"):
            del cases[name]
    # warm-up: first-call costs (≈1 s in a fresh process) are not what we compare
    sweep_lr(etas(2), data, epochs=2, batch_size=BATCH, progress=False)
    one_run(data)
    load_before = os.getloadavg()
    wall: dict[str, list[float]] = {name: [] for name in cases}
    cpu: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(args.rounds):
        for name, run in cases.items():
            start, start_cpu = time.perf_counter(), time.process_time()
            run()
            wall[name].append(time.perf_counter() - start)
            cpu[name].append(time.process_time() - start_cpu)
    load_after = os.getloadavg()

    base = statistics.median(wall["one run (train)"])
    base_cpu = statistics.median(cpu["one run (train)"])
    print(f"seed MLP 2-50-3 on blobs, batch {BATCH}, {EPOCHS} epochs, float32, torch {torch.__version__}, "
          f"{t} thread(s), median of {args.rounds} interleaved rounds")
    print(f"load average (1, 5, 15 min): before {' '.join(f'{x:.1f}' for x in load_before)}, "
          f"after {' '.join(f'{x:.1f}' for x in load_after)} on {os.cpu_count()} CPUs")
    print(f"{'case':32s} {'wall s':>7s} {'× one':>7s} {'CPU s':>7s} {'× one':>7s}   wall of each round (s)")
    for name in cases:
        med, med_cpu = statistics.median(wall[name]), statistics.median(cpu[name])
        rounds = " ".join(f"{x:.2f}" for x in wall[name])
        print(f"{name:32s} {med:7.3f} {med / base:6.2f}× {med_cpu:7.3f} {med_cpu / base_cpu:6.2f}×   {rounds}")


if __name__ == "__main__":
    main()
