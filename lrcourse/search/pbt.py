"""Population-Based Training (Jaderberg et al. 2017), in process and small enough to read.

A population of P runs of the same task trains in rounds of a few epochs. After each round
every member is scored (hold-out loss, lower is better) and, by truncation selection,

    exploit:  each member in the bottom fraction copies a random member of the top fraction:
              θ ← θ_top, optimizer state (momentum buffers v) ← v_top, η ← η_top;
    explore:  then perturbs the copied η:  η ← η · c,  c drawn from {0.8, 1.2}.

The others keep training as they are. No member ever restarts, so the η a lineage trains
with changes over time: PBT finds an η *schedule*, not one η. With ``fraction=0`` nothing is
exploited and the population is P independent fixed-η runs, the baseline at the same cost.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from lrcourse import _checks
from lrcourse.search.objective import Run, Task, random_etas

__all__ = ["PBTResult", "pbt", "exploit", "explore", "truncation", "lineage"]


@dataclass
class PBTResult:
    """What a population did. Arrays are (rounds, P): row r is round r (epochs
    r·E … (r+1)·E − 1 with E = epochs_per_round)."""

    etas: np.ndarray  # η member p trained with during round r
    scores: np.ndarray  # hold-out loss of member p after round r (+inf: diverged)
    parents: np.ndarray  # whose θ member p continued from after round r (p itself if kept)
    epochs_per_round: int
    members: list = field(repr=False, default_factory=list)  # the final Runs

    @property
    def best(self) -> int:
        """Index of the member with the lowest final hold-out loss."""
        return int(np.argmin(self.scores[-1]))

    @property
    def epochs_spent(self) -> int:
        return int(self.scores.size * self.epochs_per_round)


def truncation(scores, fraction: float) -> tuple[np.ndarray, np.ndarray]:
    """(bottom, top): indices of the worst and the best ⌈fraction·P⌉ members (none if
    fraction = 0); ties are broken by index, so the choice is deterministic."""
    if not 0 <= fraction <= 0.5:
        raise ValueError(f"Invalid fraction: {fraction} (must be in [0, 0.5])")
    order = np.argsort(np.asarray(scores, dtype=float), kind="stable")  # best first
    k = math.ceil(fraction * len(order))
    return order[len(order) - k:], order[:k]


def exploit(loser: Run, winner: Run) -> None:
    """The loser continues from the winner: θ, optimizer state (v) and η are copied, not shared."""
    state = winner.state_dict()  # deep copies
    loser.model.load_state_dict(state["model"])
    loser.optimizer.load_state_dict(state["optimizer"])  # includes η (param_groups' lr)
    loser.val_loss, loser.diverged_at = state["val_loss"], state["diverged_at"]


def explore(run: Run, rng: np.random.Generator, factors=(0.8, 1.2)) -> float:
    """η ← η · c with c drawn uniformly from ``factors``; returns c."""
    c = float(factors[rng.integers(len(factors))])
    run.eta = run.eta * c
    return c


def pbt(task: Task | None = None, *, population: int = 8, rounds: int = 10, epochs_per_round: int = 1,
        fraction: float = 0.25, factors=(0.8, 1.2), etas=None, seed: int = 0,
        train_seeds=None) -> PBTResult:
    """Train ``population`` members of ``task`` with PBT and record every member's η and score.

    Member p starts from ``mlp(sizes, s_p)`` with batch order from s_p, where s_p =
    ``train_seeds[p]`` (default ``seed + p``), and η from ``etas`` (default: log-uniform in
    [task.lo, task.hi], drawn from ``seed``, i.e. ``random_etas(task, population, seed)``). All random choices
    (initial η, which top member to copy, the factor) come from ``np.random.default_rng(seed)``.
    """
    task = task or Task()
    for label, value in (("population", population), ("rounds", rounds), ("epochs_per_round", epochs_per_round)):
        _checks.positive_int(value, label)
    truncation([], fraction)  # validates fraction before any training
    if not all(c > 0 for c in factors):
        raise ValueError(f"Invalid factors: {factors!r} (must be positive)")
    rng = np.random.default_rng(seed)
    start = random_etas(task, population, seed) if etas is None else np.asarray(etas, dtype=float)
    if start.shape != (population,):
        raise ValueError(f"Invalid etas: need {population} learning rates, got shape {start.shape}")
    seeds = [seed + p for p in range(population)] if train_seeds is None else [int(s) for s in train_seeds]
    if len(seeds) != population:
        raise ValueError(f"Invalid train_seeds: need {population} seeds, got {len(seeds)}")
    members = [Run(task, float(eta), s) for eta, s in zip(start, seeds)]
    etas_log = np.zeros((rounds, population))
    scores = np.zeros((rounds, population))
    parents = np.tile(np.arange(population), (rounds, 1))
    for r in range(rounds):
        for p, m in enumerate(members):
            etas_log[r, p] = m.eta
            for _ in range(epochs_per_round):
                m.epoch()
            scores[r, p] = m.val_loss
        if r == rounds - 1:
            break
        bottom, top = truncation(scores[r], fraction)
        for p in bottom:
            q = int(top[rng.integers(len(top))])
            exploit(members[p], members[q])
            explore(members[p], rng, factors)
            parents[r, p] = q
    return PBTResult(etas_log, scores, parents, epochs_per_round, members)


def lineage(result: PBTResult, member: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The history of the weights ``member`` (default: the best) ends with, traced back through
    the exploits: (slot per round, η per round) — the η schedule that produced its θ."""
    p = result.best if member is None else int(member)
    slots = [p]
    for r in range(len(result.parents) - 2, -1, -1):  # after round r, slot p came from parents[r, p]
        p = int(result.parents[r, p])
        slots.append(p)
    slots = np.array(slots[::-1])
    return slots, result.etas[np.arange(len(slots)), slots]
