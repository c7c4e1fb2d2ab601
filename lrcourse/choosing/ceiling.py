"""How well can *any* classifier do on blobs? The Bayes classifier from the true centres.

``make_blobs`` draws class c around a centre μ_c with isotropic spread σ (``cluster_std``),
in (nearly) equal numbers per class. With equal priors the best possible score is the
posterior

    P(c | x) = exp(−‖x − μ_c‖² / 2σ²) / Σ_k exp(−‖x − μ_k‖² / 2σ²),

so the Bayes classifier's macro AUC and accuracy are a **ceiling** that training with any η
can at best approach: how far apart the AUCs of good and bad learning rates can be is
limited by how much the blobs overlap.

The centres live in make_blobs's own coordinates, while ``lrcourse.data.blobs`` returns the
points standardised with the training split's statistics. :func:`raw_blobs` gives the same
points, in the same split, in the raw coordinates (the way make_blobs returns them).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from lrcourse import _checks
from lrcourse import data as datasets
from lrcourse.training.metrics import macro_auc

__all__ = ["Ceiling", "centres", "posterior", "raw_blobs", "bayes_ceiling"]


@dataclass(frozen=True)
class Ceiling:
    """The Bayes classifier's scores on a set of n points: macro one-vs-rest AUC and accuracy."""

    auc: float
    accuracy: float
    n: int


def _blob_args(seed, n_samples, centers, n_features, cluster_std):
    for label, value, low in (("seed", seed, 0), ("n_samples", n_samples, 1), ("centers", centers, 2),
                              ("n_features", n_features, 1)):
        _checks.int_at_least(value, label, low)
    if not (isinstance(cluster_std, (int, float)) and np.isfinite(cluster_std) and cluster_std > 0):
        raise ValueError(f"Invalid cluster_std: {cluster_std!r} (must be positive)")
    return dict(n_samples=int(n_samples), centers=int(centers), n_features=int(n_features),
                cluster_std=float(cluster_std), random_state=int(seed))


def _make_blobs(seed, n_samples, centers, n_features, cluster_std):
    from sklearn.datasets import make_blobs

    args = _blob_args(seed, n_samples, centers, n_features, cluster_std)
    return make_blobs(return_centers=True, **args)


def centres(seed: int = 0, *, n_samples: int = 1000, centers: int = 3, n_features: int = 2,
            cluster_std: float = 2.0) -> np.ndarray:
    """The true centres μ_c (C, d) that ``make_blobs(..., random_state=seed)`` drew."""
    return _make_blobs(seed, n_samples, centers, n_features, cluster_std)[2]


def posterior(X, mu, cluster_std: float) -> np.ndarray:
    """P(c | x) for equal priors and isotropic σ = ``cluster_std``: rows of X (n, d) in raw
    coordinates, centres ``mu`` (C, d). Returns (n, C), each row summing to 1."""
    X = np.asarray(X, dtype=np.float64)
    mu = np.asarray(mu, dtype=np.float64)
    if X.ndim != 2 or mu.ndim != 2 or X.shape[1] != mu.shape[1]:
        raise ValueError(f"Invalid shapes: X {X.shape} and centres {mu.shape} (need (n, d) and (C, d))")
    if not (np.isfinite(cluster_std) and cluster_std > 0):
        raise ValueError(f"Invalid cluster_std: {cluster_std!r} (must be positive)")
    d2 = ((X[:, None, :] - mu[None, :, :]) ** 2).sum(-1)  # ‖x − μ_c‖²
    logits = -d2 / (2.0 * cluster_std**2)
    logits -= logits.max(1, keepdims=True)  # a stable softmax
    p = np.exp(logits)
    return p / p.sum(1, keepdims=True)


def raw_blobs(seed: int = 0, *, dtype: torch.dtype = torch.float32, **kwargs) -> datasets.Dataset:
    """``data.blobs(seed, **kwargs)`` with the same points in the same splits, but in
    make_blobs's raw coordinates instead of standardised ones.

    Standardising is affine per feature, z = (x − m)/s, and the splits together hold every
    point, so m and s follow from the spread of all z against all x; each recovered point is
    then snapped to its exact raw row (nearest neighbour; the match must be one-to-one).
    """
    std = datasets.blobs(seed, dtype=torch.float64, **kwargs)
    keys = ("n_samples", "centers", "n_features", "cluster_std")
    defaults = dict(n_samples=1000, centers=3, n_features=2, cluster_std=2.0)
    args = {k: kwargs.get(k, defaults[k]) for k in keys}
    X_raw = _make_blobs(seed, **args)[0]
    parts = [std.X_train, std.X_val, std.X_test]
    Z = torch.cat(parts).numpy()
    s = X_raw.std(0) / np.where(Z.std(0) > 0, Z.std(0), 1.0)
    m = X_raw.mean(0) - s * Z.mean(0)
    approx = Z * s + m
    from scipy.spatial import cKDTree

    nearest = cKDTree(X_raw).query(approx)[1]
    if len(np.unique(nearest)) != len(X_raw):
        raise RuntimeError("could not match the standardised points to make_blobs's points")
    cuts = np.cumsum([len(p) for p in parts])[:-1]
    raw = [torch.tensor(X_raw[idx], dtype=dtype).reshape(-1, X_raw.shape[1]) for idx in np.split(nearest, cuts)]
    return datasets.Dataset("blobs (raw)", raw[0], std.y_train, raw[1], std.y_val, raw[2], std.y_test,
                            std.n_classes)


def bayes_ceiling(seed: int = 0, *, split: str = "val", n_fresh: int = 30_000, fresh_seed: int = 12345,
            n_samples: int = 1000, centers: int = 3, n_features: int = 2,
            cluster_std: float = 2.0) -> Ceiling:
    """The Bayes classifier's macro AUC and accuracy for make_blobs draw ``seed``.

    ``split="val"`` / ``"train"``: on that split of ``data.blobs(seed)`` (the points the
    networks are scored on). ``split="fresh"``: on ``n_fresh`` new points from the same
    distribution (the same centres and σ, classes in turn, a generator seeded with
    ``fresh_seed``) — the ceiling of the distribution rather than of one finite sample.
    """
    mu = centres(seed, n_samples=n_samples, centers=centers, n_features=n_features, cluster_std=cluster_std)
    if split in ("val", "train"):
        ds = raw_blobs(seed, dtype=torch.float64, n_samples=n_samples, centers=centers,
                       n_features=n_features, cluster_std=cluster_std)
        X, y = (ds.X_val, ds.y_val) if split == "val" else (ds.X_train, ds.y_train)
        X, y = X.numpy(), y.numpy()
    elif split == "fresh":
        if isinstance(n_fresh, bool) or not isinstance(n_fresh, (int, np.integer)) or n_fresh < len(mu):
            raise ValueError(f"Invalid n_fresh: {n_fresh!r} (need at least one point per class)")
        rng = np.random.default_rng(fresh_seed)
        y = np.arange(int(n_fresh)) % len(mu)
        X = mu[y] + cluster_std * rng.standard_normal((int(n_fresh), mu.shape[1]))
    else:
        raise ValueError(f"Invalid split: {split!r} ('train', 'val' or 'fresh')")
    if len(y) == 0:
        raise ValueError(f"The {split!r} split is empty")
    p = posterior(X, mu, cluster_std)
    yt = torch.as_tensor(y, dtype=torch.int64)
    auc = float(macro_auc(torch.from_numpy(p), yt, len(mu)))
    acc = float(np.mean(p.argmax(1) == y))
    return Ceiling(auc=auc, accuracy=acc, n=len(y))
