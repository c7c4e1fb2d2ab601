"""The datasets every chapter uses: generated offline, deterministic, split and standardised.

Each loader returns a :class:`Dataset` of torch tensors with fixed train / hold-out (val) /
test splits chosen by ``seed``. Features are standardised with the training split's
statistics only, x ← (x − μ_train) / σ_train (σ = 1 where a feature is constant), so
nothing about the hold-out data leaks into training.

- :func:`blobs` — the seed experiment: ``make_blobs(n_samples=1000, centers=3, n_features=2,
  cluster_std=2, random_state=seed)`` split 50/50 into 500 training and 500 hold-out points.
- :func:`digits` — scikit-learn's bundled 8×8 digits (1797 images, 64 features, 10 classes).
- :func:`mnist1d` — MNIST-1D made by the ``mnist1d`` package's local generator
  (``make_dataset`` with its default arguments: 4000 training and 1000 test signals of
  length 40, 10 classes). Nothing is downloaded; the result is cached in-process.
"""
from __future__ import annotations

import functools
import random
from dataclasses import dataclass

import numpy as np
import torch

from lrcourse import _checks

__all__ = ["Dataset", "DATASETS", "load", "blobs", "digits", "mnist1d"]


@dataclass(repr=False)
class Dataset:
    """Train / hold-out (val) / test tensors of one classification problem.

    ``X_*`` are (n, d) floating tensors, ``y_*`` are (n,) int64 class labels in [0, n_classes).
    A split of size 0 is an empty (0, d) tensor.
    """

    name: str
    X_train: torch.Tensor
    y_train: torch.Tensor
    X_val: torch.Tensor
    y_val: torch.Tensor
    X_test: torch.Tensor
    y_test: torch.Tensor
    n_classes: int

    @property
    def n_features(self) -> int:
        return int(self.X_train.shape[1])

    @property
    def dtype(self) -> torch.dtype:
        return self.X_train.dtype

    def __repr__(self) -> str:
        return (
            f"Dataset({self.name!r}, train={len(self.y_train)}, val={len(self.y_val)}, "
            f"test={len(self.y_test)}, features={self.n_features}, classes={self.n_classes}, "
            f"dtype={self.dtype})"
        )


# ---------------------------------------------------------------------------------------------
# argument checks


def _check_seed(seed) -> int:
    return _checks.seed(seed)


def _check_dtype(dtype) -> torch.dtype:
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise ValueError(f"Invalid dtype: {dtype!r} (must be a floating torch dtype)")
    return dtype


def _check_fractions(val_size, test_size) -> tuple[float, float]:
    for label, value in (("val_size", val_size), ("test_size", test_size)):
        _checks.fraction(value, label, open_low=False)
    if val_size + test_size >= 1:
        raise ValueError(
            f"Invalid split: val_size + test_size = {val_size + test_size} leaves no training data"
        )
    return float(val_size), float(test_size)


# ---------------------------------------------------------------------------------------------
# splitting and standardising


def _split(X: np.ndarray, y: np.ndarray, seed: int, val_size: float, test_size: float):
    """A seeded permutation cut into train | val | test, with round(n·fraction) rows each."""
    n = len(y)
    order = np.random.default_rng(seed).permutation(n)
    n_val, n_test = round(n * val_size), round(n * test_size)
    n_train = n - n_val - n_test
    parts = np.split(order, [n_train, n_train + n_val])
    return [(X[p], y[p]) for p in parts]


def _build(name, parts, n_classes, dtype) -> Dataset:
    """Standardise every split with the training split's mean and σ, then make tensors."""
    (X_tr, y_tr), (X_va, y_va), (X_te, y_te) = parts
    mean = X_tr.mean(axis=0)
    std = X_tr.std(axis=0)
    std = np.where(std > 0, std, 1.0)

    def x(a):
        return torch.tensor((a - mean) / std, dtype=dtype)

    def lab(a):
        return torch.tensor(a, dtype=torch.int64)

    return Dataset(name, x(X_tr), lab(y_tr), x(X_va), lab(y_va), x(X_te), lab(y_te), n_classes)


# ---------------------------------------------------------------------------------------------
# the datasets


def blobs(
    seed: int = 0,
    *,
    n_samples: int = 1000,
    centers: int = 3,
    n_features: int = 2,
    cluster_std: float = 2.0,
    val_size: float = 0.5,
    test_size: float = 0.0,
    dtype: torch.dtype = torch.float32,
) -> Dataset:
    """Gaussian blobs: ``make_blobs(n_samples, centers, n_features, cluster_std,
    random_state=seed)``. The defaults are the seed experiment: 1000 points in 2-D around 3
    centres with σ = 2, split 50/50 by ``seed`` (500 train, 500 hold-out, no test split).
    """
    from sklearn.datasets import make_blobs

    seed = _check_seed(seed)
    dtype = _check_dtype(dtype)
    val_size, test_size = _check_fractions(val_size, test_size)
    for label, value in (("n_samples", n_samples), ("centers", centers), ("n_features", n_features)):
        _checks.positive_int(value, label)
    if centers < 2:
        raise ValueError(f"Invalid centers: {centers} (a classification problem needs ≥ 2)")
    if not (isinstance(cluster_std, (int, float)) and np.isfinite(cluster_std) and cluster_std > 0):
        raise ValueError(f"Invalid cluster_std: {cluster_std!r} (must be positive)")
    X, y = make_blobs(
        n_samples=int(n_samples),
        centers=int(centers),
        n_features=int(n_features),
        cluster_std=float(cluster_std),
        random_state=seed,
    )
    parts = _split(X, y, seed, val_size, test_size)
    return _build("blobs", parts, int(centers), dtype)


def digits(
    seed: int = 0,
    *,
    val_size: float = 0.2,
    test_size: float = 0.2,
    dtype: torch.dtype = torch.float32,
) -> Dataset:
    """scikit-learn's 8×8 handwritten digits (bundled with the package, no download):
    1797 samples, 64 pixel features, 10 classes; split 60/20/20 by ``seed`` by default."""
    from sklearn.datasets import load_digits

    seed = _check_seed(seed)
    dtype = _check_dtype(dtype)
    val_size, test_size = _check_fractions(val_size, test_size)
    raw = load_digits()
    parts = _split(raw.data.astype(np.float64), raw.target, seed, val_size, test_size)
    return _build("digits", parts, 10, dtype)


@functools.lru_cache(maxsize=4)
def _mnist1d_arrays(data_seed: int):
    """Run mnist1d's local generator once per data_seed (≈0.7 s) and keep the arrays.

    The generator seeds Python's and numpy's global RNGs; their states are restored after,
    so loading the data does not change what the caller's random numbers will be.
    """
    from mnist1d.data import get_dataset_args, make_dataset

    args = get_dataset_args()
    args.seed = data_seed
    py_state, np_state = random.getstate(), np.random.get_state()
    try:
        raw = make_dataset(args)
    finally:
        random.setstate(py_state)
        np.random.set_state(np_state)
    arrays = (raw["x"], raw["y"], raw["x_test"], raw["y_test"])
    for a in arrays:
        a.setflags(write=False)
    return arrays


def mnist1d(
    seed: int = 0,
    *,
    val_size: float = 0.2,
    data_seed: int = 42,
    dtype: torch.dtype = torch.float32,
) -> Dataset:
    """MNIST-1D from the ``mnist1d`` package's generator with its default arguments
    (``data_seed`` = its default 42): 4000 training and 1000 test signals of length 40,
    10 classes. The generator's test split is the test split; ``seed`` draws the hold-out
    (``val_size`` of the 4000, i.e. 800 by default) from its training part."""
    seed = _check_seed(seed)
    data_seed = _check_seed(data_seed)
    dtype = _check_dtype(dtype)
    val_size, _ = _check_fractions(val_size, 0.0)
    X, y, X_test, y_test = _mnist1d_arrays(data_seed)
    train, val, _empty = _split(X, y, seed, val_size, 0.0)
    return _build("mnist1d", [train, val, (X_test, y_test)], 10, dtype)


DATASETS = {"blobs": blobs, "digits": digits, "mnist1d": mnist1d}


def load(name: str, seed: int = 0, **kwargs) -> Dataset:
    """The dataset called ``name`` (one of ``DATASETS``), split by ``seed``."""
    if name not in DATASETS:
        raise ValueError(f"Unknown dataset: {name!r} (choose one of {', '.join(DATASETS)})")
    return DATASETS[name](seed, **kwargs)
