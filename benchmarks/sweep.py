"""Batched learning-rate sweep vs ordinary training, side by side in one run.

The seed experiment: MLP 2 → 50 ReLU → 3 on blobs (500 training points), batch 50,
200 epochs, float32, plain SGD, one thread. Prints the median wall time of

  one      one ordinary run, ``train.train`` with ``torch.optim.SGD``
  K=16     ``sweep_lr`` over 16 learning rates (one batched computation)
  K=64     ``sweep_lr`` over 64 learning rates
  seq16    the same 16 learning rates as 16 ordinary runs, one after another

and each one's ratio to one ordinary run (targets: K=16 ≤ 1.5×, K=64 ≤ 3×), in wall time and
in this process's CPU time (steadier when other processes share the cores). The cases are
interleaved round by round so that a busy machine slows them all alike. No torch.compile.

    python benchmarks/sweep.py [--rounds 5] [--threads 1]
"""
from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch

from lrcourse import data as datasets
from lrcourse.training.sweep import sweep_lr
from lrcourse.training.models import mlp
from lrcourse.training.loop import train

EPOCHS, BATCH = 200, 50
ETAS_16 = np.logspace(-3, 0, 16)  # 0.001 … 1: all stable on blobs in float32
ETAS_64 = np.logspace(-3, 0, 64)


def one_run(data, eta=0.05, threads=1):
    model = mlp((2, 50, 3), seed=0)
    opt = torch.optim.SGD(model.parameters(), lr=eta)
    return train(model, opt, data, epochs=EPOCHS, batch_size=BATCH, seed=0, progress=False, threads=threads)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="timed rounds (median is reported)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads for every case")
    args = parser.parse_args()

    data = datasets.blobs(0)
    cases = {
        "one run (train.train)": lambda: one_run(data, threads=args.threads),
        "K=16 batched (sweep_lr)": lambda: sweep_lr(
            ETAS_16, data, epochs=EPOCHS, batch_size=BATCH, progress=False, threads=args.threads
        ),
        "K=64 batched (sweep_lr)": lambda: sweep_lr(
            ETAS_64, data, epochs=EPOCHS, batch_size=BATCH, progress=False, threads=args.threads
        ),
        # two threads pay off for a large K on an idle machine (and cost a lot on a busy one,
        # which is why sweep_lr's default stays at one thread)
        "K=64 batched, 2 threads": lambda: sweep_lr(
            ETAS_64, data, epochs=EPOCHS, batch_size=BATCH, progress=False, threads=2
        ),
        "K=16 sequential (16 × train.train)": lambda: [
            one_run(data, eta, threads=args.threads) for eta in ETAS_16
        ],
    }
    # warm-up: first-call costs (≈1 s in a fresh process) are not what we compare
    sweep_lr(ETAS_16[:2], data, epochs=2, batch_size=BATCH, progress=False)
    one_run(data)
    wall: dict[str, list[float]] = {name: [] for name in cases}
    cpu: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(args.rounds):
        for name, run in cases.items():
            start, start_cpu = time.perf_counter(), time.process_time()
            run()
            wall[name].append(time.perf_counter() - start)
            cpu[name].append(time.process_time() - start_cpu)

    base = statistics.median(wall["one run (train.train)"])
    base_cpu = statistics.median(cpu["one run (train.train)"])
    print(f"seed MLP 2-50-3 on blobs, batch {BATCH}, {EPOCHS} epochs, float32, "
          f"{args.threads} thread(s), median of {args.rounds} interleaved rounds")
    print(f"{'case':36s} {'wall s':>7s} {'× one':>7s} {'CPU s':>7s} {'× one':>7s}   wall of each round (s)")
    for name in cases:
        med, med_cpu = statistics.median(wall[name]), statistics.median(cpu[name])
        rounds = " ".join(f"{t:.2f}" for t in wall[name])
        print(f"{name:36s} {med:7.3f} {med / base:6.2f}× {med_cpu:7.3f} {med_cpu / base_cpu:6.2f}×   {rounds}")


if __name__ == "__main__":
    main()
