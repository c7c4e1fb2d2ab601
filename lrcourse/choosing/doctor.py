"""What a loss curve says about the learning rate: ``diagnose(history) -> Diagnosis``.

The signs of a bad η, as the usual advice puts them: the loss explodes or turns NaN (η far
too high); it jumps around (too high); it decreases very slowly (too low); it is stuck on a
plateau (lower η, or decay it with a schedule).  ``diagnose`` measures each sign on a curve
L_0 … L_{T−1} (one value per epoch: an epoch mean; per-step minibatch losses are far
noisier and read as "oscillating") and names the first that applies, in this order:

1. ``"nan"``         some L_t is NaN/inf (or ``history.diverged_at`` is set).
2. ``"diverging"``   ``blowup`` ≥ ``diverge_tol``: the loss climbed to ≥ diverge_tol × its
                     best value so far, blowup = max_t L_t / min_{s≤t} L_s.
3. ``"oscillating"`` on the second half of the curve, the typical step-to-step change is
                     large and goes both ways: ``jump`` = median|ΔL| / median L ≥ ``osc_tol``
                     and ``up_frac`` = share of steps where L rose ≥ ``up_tol``.
4. ``"too flat"``    ``progress`` = (L_0 − L_end) / L_0 < ``flat_tol``: over the whole run the
                     loss moved less than that share of where it started (L_end is the
                     median of the last ``w`` = max(2, T // 5) values).
5. ``"plateaued"``   the second half is not clearly still falling: a least-squares line
                     through it, L ≈ a + b·t, gives ``tail_drop`` = −b·(m − 1) / median L
                     (the relative drop over those m points) with standard error
                     ``tail_drop_se``; plateaued if tail_drop < ``plateau_tol`` or
                     tail_drop < ``plateau_z`` · tail_drop_se.
6. ``"healthy"``     none of the above: it fell, smoothly, and is still falling.

The defaults were set on real runs (the seed MLP 2→50→3 on make_blobs, batch 50, 60–150
epochs, η from 1e-5 to 50, 6–10 seeds each; the labelled cases are re-run in
``tests/test_doctor.py``): SGD at η = 1e-5 moved the loss 2–6 % (too flat); SGD at 1e-2 and
3e-2 and Adam at 1e-3 fell 72–87 % with jumps ≤ 0.6 % and a second half still falling
9–19 % ± ≤ 0.7 % (healthy); SGD at η = 1 jumped 8–14 % per epoch (oscillating); SGD at
η = 5, wrecked by a first-epoch explosion, sat at 0.6–0.8 (a good run reaches 0.16) with a
second-half trend of −21 … +2 % ± 1–10 % in 6 of 10 seeds (plateaued); SGD at η = 20 climbed
3e3–5e26× above its best (diverging); at η = 50 it turned NaN.  Between the clear cases lies
a grey zone — SGD at η ≈ 0.1–0.5 hovers on its noise floor and still falls 1–5 % per 75
epochs — where the label (healthy / plateaued / oscillating) flips with the seed.
A curve that has converged to the best the model can do also reads "plateaued": the curve
alone cannot tell a floor from a plateau, and the advice (decay η, or stop) fits both.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

LABELS = ("nan", "diverging", "oscillating", "too flat", "plateaued", "healthy")


@dataclass(frozen=True)
class Diagnosis:
    """``label`` (one of ``LABELS``), a one-sentence ``message``, and the ``evidence`` as numbers."""

    label: str
    message: str
    evidence: dict[str, float] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.label}: {self.message}"


def diagnose(
    history_or_losses,
    *,
    curve: str = "train_loss",
    diverge_tol: float = 10.0,
    osc_tol: float = 0.05,
    up_tol: float = 0.3,
    flat_tol: float = 0.1,
    plateau_tol: float = 0.02,
    plateau_z: float = 2.0,
    min_points: int = 4,
) -> Diagnosis:
    """Name what a loss curve shows about η (see the module docstring for every rule).

    ``history_or_losses`` is a History-like object (duck typing: the attribute named by
    ``curve``, default ``train_loss``, and optionally ``diverged_at``) or a sequence of losses.
    A finite curve needs at least ``min_points`` values.
    """
    for name, value in (("diverge_tol", diverge_tol),):
        if not value > 1.0:
            raise ValueError(f"Invalid {name}: {value} (must be > 1)")
    for name, value in (("osc_tol", osc_tol), ("flat_tol", flat_tol), ("plateau_tol", plateau_tol),
                        ("plateau_z", plateau_z)):
        if not value >= 0.0:
            raise ValueError(f"Invalid {name}: {value} (must be ≥ 0)")
    if not 0.0 <= up_tol <= 1.0:
        raise ValueError(f"Invalid up_tol: {up_tol} (must be in [0, 1])")

    losses, diverged_at = _curve(history_or_losses, curve)
    bad = np.flatnonzero(~np.isfinite(losses))
    if diverged_at is not None or bad.size:
        first = int(bad[0]) if bad.size else int(diverged_at)
        if diverged_at is not None:
            first = min(first, int(diverged_at))
        finite = losses[: first][np.isfinite(losses[: first])]
        evidence = {"first_nonfinite": float(first), "n_points": float(len(losses)),
                    "last_finite": float(finite[-1]) if finite.size else math.nan}
        return Diagnosis("nan", f"The loss became NaN/inf at index {first} of the curve: η is far too high — "
                                "lower it (e.g. 10×) or clip the gradients.", evidence)
    if len(losses) < min_points:
        raise ValueError(f"need at least {min_points} loss values to diagnose a curve, got {len(losses)}")

    ev = curve_evidence(losses)
    if ev["blowup"] >= diverge_tol:
        return Diagnosis("diverging", f"The loss climbed to {ev['blowup']:.3g}× its best value so far "
                                      f"(step {int(ev['blowup_at'])}): η is too high — lower it.", ev)
    if ev["jump"] >= osc_tol and ev["up_frac"] >= up_tol:
        return Diagnosis("oscillating", f"The loss jumps around (typical change {ev['jump']:.0%} of its level, "
                                        f"up on {ev['up_frac']:.0%} of the steps): η is too high — lower it.", ev)
    if ev["progress"] < flat_tol:
        return Diagnosis("too flat", f"The loss barely moved ({ev['progress']:.1%} of its starting value "
                                     "over the run): η is too low — raise it (try 10×).", ev)
    if ev["tail_drop"] < plateau_tol or ev["tail_drop"] < plateau_z * ev["tail_drop_se"]:
        return Diagnosis("plateaued", f"The loss has stopped improving ({ev['tail_drop']:+.1%} ± "
                                      f"{ev['tail_drop_se']:.1%} over the second half): lower η or decay it "
                                      "with a schedule (or stop, if this is as low as it goes).", ev)
    return Diagnosis("healthy", f"The loss fell {ev['progress']:.0%} and is still falling smoothly "
                                f"({ev['tail_drop']:.1%} over the second half): η looks right.", ev)


def curve_evidence(losses) -> dict[str, float]:
    """The numbers ``diagnose`` reads off a finite curve (formulas in the module docstring)."""
    L = np.asarray(losses, dtype=np.float64)
    T = len(L)
    w = max(2, T // 5)
    end = float(np.median(L[-w:]))
    running_best = np.maximum(np.minimum.accumulate(L), np.finfo(np.float64).tiny)  # L ≥ 0 assumed
    ratio = L / running_best
    second = L[T // 2:]
    d = np.diff(second)
    level = float(np.median(second))
    drop, drop_se = _linear_drop(second)
    return {
        "n_points": float(T),
        "first": float(L[0]),
        "end": end,
        "best": float(L.min()),
        "progress": _ratio(float(L[0]) - end, float(L[0])),
        "tail_drop": _ratio(drop, level),
        "tail_drop_se": _ratio(drop_se, level),
        "jump": _ratio(float(np.median(np.abs(d))), level) if d.size else 0.0,
        "up_frac": float(np.mean(d > 0)) if d.size else 0.0,
        "blowup": float(ratio.max()),
        "blowup_at": float(np.argmax(ratio)),
    }


def _linear_drop(y: np.ndarray) -> tuple[float, float]:
    """Least-squares line y ≈ a + b·t (t = 0 … m−1): the drop −b·(m−1) over the span and its standard error."""
    m = len(y)
    if m < 3:
        return float(y[0] - y[-1]), 0.0
    t = np.arange(m, dtype=np.float64)
    tc = t - t.mean()
    b = float(tc @ (y - y.mean()) / (tc @ tc))
    resid = y - y.mean() - b * tc
    se_b = math.sqrt(float(resid @ resid) / (m - 2) / float(tc @ tc))
    return -b * (m - 1), se_b * (m - 1)


def _ratio(num: float, den: float) -> float:
    """num / |den|, and 0 for 0 / 0 (a curve stuck at exactly zero)."""
    if den == 0.0:
        return 0.0 if num == 0.0 else math.copysign(math.inf, num)
    return num / abs(den)


def _curve(obj, curve: str):
    """(losses as float64 array, diverged_at or None) from a History-like object or a sequence."""
    if hasattr(obj, curve):
        values = getattr(obj, curve)
        diverged_at = getattr(obj, "diverged_at", None)
    elif isinstance(obj, (str, bytes)) or not hasattr(obj, "__len__"):
        raise TypeError(f"expected a History (with .{curve}) or a sequence of losses, got {type(obj).__name__}")
    else:
        values, diverged_at = obj, None
    if hasattr(values, "detach"):  # a torch tensor
        values = values.detach().cpu().numpy()
    losses = np.asarray(values, dtype=np.float64)
    if losses.ndim != 1:
        raise ValueError("the loss curve must be one-dimensional")
    return losses, diverged_at
