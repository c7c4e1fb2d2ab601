"""Optuna studies over a :class:`Task`'s η: the objective as Optuna calls it (reporting each
epoch to a pruner), a seeded study, its trials as a table, and a worker for a shared SQLite study.
Optuna is imported only when one of these runs."""
from __future__ import annotations

import math

import numpy as np

from lrcourse.search.objective import Run, Task, best_so_far

__all__ = ["optuna_objective", "run_study", "study_frame", "work"]


def optuna_objective(task: Task, seed: int = 0):
    """The objective as Optuna calls it: suggest η, train, report each epoch, maybe stop early."""
    import optuna

    def objective(trial) -> float:
        eta = trial.suggest_float("eta", task.lo, task.hi, log=True)
        run = Run(task, eta, seed)
        for epoch in range(1, task.epochs + 1):
            loss = run.epoch()
            trial.report(loss, step=epoch)  # the resource: epochs trained so far
            if trial.should_prune():  # the pruner compares with other trials at this epoch
                raise optuna.TrialPruned()
            if run.diverged_at is not None:
                break
        return loss

    return objective


def _sampler(sampler: str, seed: int, n_startup_trials: int):
    import optuna

    if sampler == "tpe":
        return optuna.samplers.TPESampler(seed=seed, n_startup_trials=n_startup_trials)
    if sampler == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    raise ValueError(f"Invalid sampler: {sampler!r} ('tpe' or 'random')")


def _pruner(pruner: str | None, task: Task):
    import optuna

    if pruner is None:
        return optuna.pruners.NopPruner()
    if pruner == "halving":
        return optuna.pruners.SuccessiveHalvingPruner(min_resource=1, reduction_factor=3)
    if pruner == "hyperband":
        return optuna.pruners.HyperbandPruner(min_resource=1, max_resource=task.epochs, reduction_factor=3)
    raise ValueError(f"Invalid pruner: {pruner!r} (None, 'halving' or 'hyperband')")


def run_study(task: Task, *, n_trials: int, sampler: str = "tpe", pruner: str | None = None,
              seed: int = 0, train_seed: int = 0, storage=None, study_name: str | None = None,
              n_startup_trials: int = 5, etas=None):
    """An Optuna study minimising f(η) over ``n_trials`` trials, one at a time (n_jobs=1).

    ``sampler``: "tpe" (``TPESampler(seed, n_startup_trials)``) or "random"; ``pruner``: None,
    "halving" (successive halving, rungs at 1, 3, 9 … epochs) or "hyperband". ``storage``:
    None (in memory), an ``RDBStorage`` or a database URL such as ``sqlite:///study.db``.
    ``etas``: if given, these η are tried first, in order (``enqueue_trial``), e.g. to prune
    exactly the candidates of a random search. Deterministic for a fixed ``seed`` and
    ``train_seed``: Hyperband assigns trials to brackets
    by a hash of the study's name, so the default name is fixed too.
    """
    import optuna

    study_name = study_name or f"{sampler}-{pruner or 'none'}-seed{seed}-train{train_seed}"
    study = optuna.create_study(
        study_name=study_name, storage=storage, direction="minimize", load_if_exists=True,
        sampler=_sampler(sampler, seed, n_startup_trials), pruner=_pruner(pruner, task),
    )
    for eta in [] if etas is None else etas:
        study.enqueue_trial({"eta": float(eta)})
    study.optimize(optuna_objective(task, train_seed), n_trials=n_trials, n_jobs=1)
    return study


def study_frame(study):
    """One row per trial in trial order: number, eta, state, epochs (trained), value (hold-out
    loss after all epochs; NaN if pruned), cum_epochs and best (best complete value so far)."""
    import pandas as pd

    rows = []
    for t in sorted(study.trials, key=lambda t: t.number):
        complete = t.state.name == "COMPLETE"
        rows.append({"number": t.number, "eta": t.params.get("eta", math.nan), "state": t.state.name,
                     "epochs": len(t.intermediate_values),
                     "value": float(t.value) if complete else math.nan})
    frame = pd.DataFrame(rows)
    frame["cum_epochs"] = frame["epochs"].cumsum()
    frame["best"] = best_so_far(frame["value"].fillna(np.inf))
    return frame


def work(storage: str, study_name: str, n_trials: int, *, seed: int, task: Task | None = None,
         pruner: str | None = None) -> None:
    """One worker of a shared study: attach to ``study_name`` in ``storage`` (a database URL;
    created if missing) and run ``n_trials`` TPE trials (``pruner`` as in :func:`run_study`).
    Start as many as you like, on as many machines as reach the database; each should get its
    own ``seed``."""
    import optuna

    task = task or Task()
    study = optuna.create_study(study_name=study_name, storage=storage, direction="minimize",
                                load_if_exists=True, sampler=_sampler("tpe", seed, 5),
                                pruner=_pruner(pruner, task))
    study.optimize(optuna_objective(task), n_trials=n_trials, n_jobs=1)
