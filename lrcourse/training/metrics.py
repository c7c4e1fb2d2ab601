"""How a classifier is scored: accuracy, macro one-vs-rest ROC AUC (vectorised over K models),
and (loss, accuracy, AUC) of one model on a split."""
from __future__ import annotations

import math
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["macro_auc", "accuracy", "evaluate"]


def macro_auc(scores: torch.Tensor, y: torch.Tensor, n_classes: int) -> torch.Tensor:
    """Macro one-vs-rest ROC AUC of ``scores`` (..., n, C) against labels ``y`` (n,).

    Per class c, with P the samples of class c (n_c of them) and N the others:
        AUC_c = (1 / (n_c (n − n_c))) Σ_{i∈P} ( #{j∈N: s_jc < s_ic} + ½ #{j∈N: s_jc = s_ic} ),
    the Mann–Whitney form of the area under the ROC curve; the result is the mean over c.
    This is what ``sklearn.metrics.roc_auc_score(y, scores, multi_class="ovr")`` computes
    (for C = 2: the AUC of the class-1 score), vectorised over the leading dimensions so a
    sweep scores K models at once. NaN where a model's scores are non-finite or a class is
    absent. Returns a float64 tensor of shape (...).
    """
    s = scores.detach().cpu()
    lead, n = s.shape[:-2], s.shape[-2]
    if n_classes == 2:
        s, positive = s[..., 1:], (y == 1).view(1, n)  # (..., n, 1), (1, n)
    else:
        positive = F.one_hot(y, n_classes).T.bool()  # (C, n)
    if s.dtype not in (torch.float32, torch.float64):
        s = s.float()
    a = s.transpose(-1, -2).reshape(-1, n).numpy()  # (R, n)
    positive = positive.numpy()
    per_model = positive.shape[0]  # rows of a per model: C (or 1 for C = 2)
    lab = np.tile(positive.astype(np.uint8), (a.shape[0] // per_model, 1))
    n_pos = np.tile(positive.sum(-1, dtype=np.float64), a.shape[0] // per_model)
    with np.errstate(divide="ignore", invalid="ignore"):
        auc = _wilcoxon_u(a, lab, n_pos) / (n_pos * (n - n_pos))  # 0/0 → NaN: class absent
        auc = auc.reshape(-1, per_model).mean(-1)
    every = a if n_classes > 2 else scores.detach().cpu().numpy()  # all of each model's scores
    finite = np.isfinite(every).reshape(auc.shape[0], -1).all(-1)
    return torch.from_numpy(np.where(finite, auc, np.nan).reshape(lead))


def _wilcoxon_u(a: np.ndarray, lab: np.ndarray, n_pos: np.ndarray) -> np.ndarray:
    """U = Σ_{i positive} r_i − n_pos(n_pos + 1)/2 per row of scores a (R, n), with r the
    1-based average rank of each score in its row (a tie shares the mean of its positions).

    Each score becomes an order-preserving unsigned integer with its 0/1 label in the lowest
    bit, so one fast integer sort per row carries the labels along: non-negative float32
    scores (probabilities) fit in 32 bits, signed float32 and non-negative float64 in 64.
    Float64 scores with a negative value do not fit: those go to scipy.stats.rankdata.
    Shifting left drops the sign bit of −0.0, so −0.0 and +0.0 tie, as they should.
    """
    nonneg = not (a < 0).any()  # (NaN rows give NaN anyway)
    if a.dtype == np.float32 and nonneg:
        key = a.view(np.uint32) << np.uint32(1)
    elif a.dtype == np.float32:  # flip bits so that unsigned order is numeric order
        bits = (a + np.float32(0.0)).view(np.uint32)  # + 0 turns −0.0 into +0.0
        bits = bits ^ np.where(bits >> 31, np.uint32(0xFFFFFFFF), np.uint32(0x80000000))
        key = bits.astype(np.uint64) << np.uint64(1)
    elif nonneg:
        key = a.view(np.uint64) << np.uint64(1)
    else:
        from scipy.stats import rankdata

        return (rankdata(a, axis=-1) * lab).sum(-1) - n_pos * (n_pos + 1) / 2
    key |= lab.astype(key.dtype)
    key.sort(axis=-1)
    one = key.dtype.type(1)
    pos = (key & one).astype(np.uint8).astype(np.float64)  # (via uint8: faster)
    key >>= one  # the sorted scores' keys
    R, n = key.shape
    rank_sum = pos @ np.arange(1, n + 1, dtype=np.float64)
    tied = key[:, 1:] == key[:, :-1]  # position j + 1 holds the same score as position j
    if tied.any():
        # a run of equal scores at positions s … e (0-based) shares the rank (s + e)/2 + 1,
        # so each positive at position p in it gains (s + e)/2 − p. Runs are few: work on
        # flat indices of their elements only (the row offset cancels in (s + e)/2 − p).
        left = np.pad(tied, ((0, 0), (1, 0))).ravel()  # equal to the previous position
        right = np.pad(tied, ((0, 0), (0, 1))).ravel()  # equal to the next position
        members = np.flatnonzero(left | right)
        starts = ~left[members]
        run = np.cumsum(starts) - 1
        middle = (members[starts] + members[~right[members]]) / 2
        gain = pos.ravel()[members] * (middle[run] - members)
        rank_sum += np.bincount(members // n, gain, minlength=R)
    return rank_sum - n_pos * (n_pos + 1) / 2


def accuracy(scores: torch.Tensor, y: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """Fraction of samples whose label y is the argmax of the scores along ``dim``, averaged
    over the last remaining axis: scores (n, C) → a scalar; (K, C, n) with dim=1 → (K,).
    Uses ``max(dim).indices`` (the same first-maximum rule, NaN counting as the maximum):
    over a short class axis that is not the last it is ~30× faster than ``argmax``."""
    return (scores.detach().max(dim).indices == y).to(torch.float64).mean(-1)


@torch.no_grad()
def evaluate(model: nn.Module, X: torch.Tensor, y: torch.Tensor, n_classes: int,
             loss_fn: Callable = F.cross_entropy):
    """(loss, accuracy, macro AUC) of ``model`` on (X, y), in eval mode, as Python floats."""
    if len(y) == 0:
        return math.nan, math.nan, math.nan
    was_training = model.training
    model.eval()
    try:
        out = model(X)
    finally:
        model.train(was_training)
    loss = float(loss_fn(out, y))
    acc = float(accuracy(out, y))
    auc = float(macro_auc(torch.log_softmax(out, -1).exp(), y, n_classes))  # p as the sweep computes it
    return loss, acc, auc
