"""The same PBT search on Ray Tune, for readers who outgrow one machine.

Ray is not a requirement of the book (``requirements-scale.txt``); import this module only
where ``ray[tune]`` is installed. :func:`tune_pbt` trains the :class:`lrcourse.search.Task`
objective under Ray Tune's ``PopulationBasedTraining`` scheduler: every trial is one member,
one ``tune.report`` is one epoch, and at each perturbation interval the bottom quantile of
trials restarts from a top trial's checkpoint (θ, optimizer state) with η ← η·0.8 or η·1.2,
the same exploit / explore as ``lrcourse.search.pbt``. Here Ray runs on this machine with local
workers; ``address=`` points the same code at a running Ray cluster.
"""
from __future__ import annotations

import io
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from lrcourse.search.objective import Run, Task, random_etas

__all__ = ["TunePBTResult", "tune_pbt", "member"]


def member(config: dict, task: Task) -> None:
    """One PBT member as a Ray Tune function trainable: train, report, checkpoint, each epoch."""
    from ray import tune

    torch.set_num_threads(1)
    run = Run(task, config["eta"], seed=config["seed"])
    checkpoint = tune.get_checkpoint()  # set when PBT restarts this trial from a top trial
    if checkpoint is not None:
        with checkpoint.as_directory() as folder:
            run.load_state_dict(torch.load(Path(folder) / "run.pt", weights_only=False))
        run.eta = config["eta"]  # the explored η: the winner's η times 0.8 or 1.2
    while run.epochs_done < config["epochs"]:
        loss = run.epoch()
        with tempfile.TemporaryDirectory() as folder:
            torch.save(run.state_dict(), Path(folder) / "run.pt")
            tune.report({"val_loss": loss, "eta": run.eta, "epoch": run.epochs_done},
                        checkpoint=tune.Checkpoint.from_directory(folder))


@dataclass
class TunePBTResult:
    """Per trial: the η and hold-out loss it reported at every iteration; the scheduler's
    perturbation log (``pbt_global.txt``, one entry per exploit + explore)."""

    etas: list[list[float]]
    losses: list[list[float]]
    perturbations: list[dict]
    best_loss: float
    best_eta: float


def _progress(result):
    import pandas as pd

    path = Path(result.path, "progress.csv").as_posix()
    with result.filesystem.open_input_stream(path) as stream:
        frame = pd.read_csv(io.BytesIO(stream.readall()))
    return frame.sort_values("training_iteration")


def tune_pbt(task: Task | None = None, *, population: int = 4, epochs: int = 6, interval: int = 2,
             seed: int = 0, address: str | None = None, num_cpus: int = 2,
             storage_path: str | None = None) -> TunePBTResult:
    """Run PBT on Ray Tune: ``population`` trials with initial η from ``random_etas(task,
    population, seed)``, all trained with ``seed``, perturbed every ``interval`` epochs.

    ``address=None`` starts Ray here with ``num_cpus`` local workers (no dashboard);
    ``address="ray://head-node:10001"`` (or "auto" on a cluster node) uses a running cluster.
    """
    import random

    saved_env = os.environ.get("RAY_USAGE_STATS_ENABLED")
    os.environ["RAY_USAGE_STATS_ENABLED"] = "0"  # no usage reports: we run offline
    saved_random = random.getstate()
    try:
        return _tune_pbt(task or Task(), population, epochs, interval, seed, address, num_cpus,
                         storage_path)
    finally:  # the caller's environment and Python's global random state are left as they were
        random.setstate(saved_random)
        if saved_env is None:
            os.environ.pop("RAY_USAGE_STATS_ENABLED", None)
        else:
            os.environ["RAY_USAGE_STATS_ENABLED"] = saved_env


def _tune_pbt(task, population, epochs, interval, seed, address, num_cpus, storage_path):
    import random

    import ray
    from ray import tune
    from ray.tune.schedulers import PopulationBasedTraining

    random.seed(seed)  # PBT's choices (which top trial, which factor) use Python's random
    etas = [float(e) for e in random_etas(task, population, seed)]
    scheduler = PopulationBasedTraining(
        time_attr="training_iteration", metric="val_loss", mode="min",
        perturbation_interval=interval, quantile_fraction=0.25,
        hyperparam_mutations={"eta": tune.loguniform(task.lo, task.hi)},
        resample_probability=0.0, perturbation_factors=(1.2, 0.8), synch=True,
    )
    if address is None:
        ray.init(num_cpus=num_cpus, include_dashboard=False, log_to_driver=False)
    else:
        ray.init(address=address, log_to_driver=False)
    scratch = None if storage_path else tempfile.TemporaryDirectory(prefix="lrcourse-tune-")
    folder = storage_path or scratch.name
    try:
        tuner = tune.Tuner(
            tune.with_parameters(member, task=task),
            param_space={"eta": tune.grid_search(etas), "seed": seed, "epochs": epochs},
            tune_config=tune.TuneConfig(scheduler=scheduler, num_samples=1, reuse_actors=True),
            run_config=tune.RunConfig(name="pbt", storage_path=folder, verbose=0,
                                      stop={"training_iteration": epochs}),
        )
        grid = tuner.fit()
    finally:
        ray.shutdown()
    # progress.csv holds every report (result.json can lose rows when a trial is restored)
    frames = [_progress(r) for r in grid]
    log = Path(folder) / "pbt" / "pbt_global.txt"
    perturbations = [dict(zip(("target", "clone", "target_iteration", "clone_iteration",
                               "old_config", "new_config"), json.loads(line)))
                     for line in log.read_text().splitlines()] if log.exists() else []
    best = grid.get_best_result(metric="val_loss", mode="min", scope="last")
    if scratch is not None:
        scratch.cleanup()
    return TunePBTResult(
        etas=[f["eta"].tolist() for f in frames], losses=[f["val_loss"].tolist() for f in frames],
        perturbations=perturbations, best_loss=float(best.metrics["val_loss"]),
        best_eta=float(best.metrics["eta"]),
    )


if __name__ == "__main__":  # python -m lrcourse.search.scale_out
    result = tune_pbt()
    print(f"best hold-out loss {result.best_loss:.4f} at η = {result.best_eta:.4g}; "
          f"{len(result.perturbations)} perturbations")
    print(np.round(np.array(result.etas), 4))
