"""lrcourse.data: offline, seeded datasets with fixed splits, standardised on the training split."""
import random

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits, make_blobs

from lrcourse import data


def _check_shapes(ds, n_train, n_val, n_test, d, c, dtype=torch.float32):
    assert ds.X_train.shape == (n_train, d) and ds.y_train.shape == (n_train,)
    assert ds.X_val.shape == (n_val, d) and ds.y_val.shape == (n_val,)
    assert ds.X_test.shape == (n_test, d) and ds.y_test.shape == (n_test,)
    assert ds.n_classes == c and ds.n_features == d
    for X in (ds.X_train, ds.X_val, ds.X_test):
        assert X.dtype == dtype and torch.isfinite(X).all()
    for y in (ds.y_train, ds.y_val, ds.y_test):
        assert y.dtype == torch.int64
        assert y.numel() == 0 or (0 <= int(y.min()) and int(y.max()) < c)


def _check_standardised(ds):
    X = ds.X_train.double()
    assert torch.allclose(X.mean(0), torch.zeros(ds.n_features, dtype=torch.float64), atol=1e-5)
    std = X.std(0, unbiased=False)
    constant = std < 1e-6  # constant pixels stay constant (σ = 1 is used for them)
    assert torch.allclose(std[~constant], torch.ones_like(std[~constant]), atol=1e-5)


def test_blobs_is_the_seed_experiment():
    ds = data.blobs(0)
    _check_shapes(ds, 500, 500, 0, 2, 3)
    _check_standardised(ds)
    assert "blobs" in repr(ds) and "train=500" in repr(ds)


@pytest.mark.parametrize("seed", [0, 7])
def test_blobs_rows_are_make_blobs_output_standardised_with_train_statistics(seed):
    """Undo the per-feature affine map (found from sorted values): the rows of train ∪ val are
    exactly make_blobs(1000, 3 centres, 2-D, σ=2, random_state=seed), labels included, and
    the map's centre and scale are the raw training rows' mean and σ."""
    ds = data.blobs(seed, dtype=torch.float64)
    X_raw, y_raw = make_blobs(n_samples=1000, centers=3, n_features=2, cluster_std=2, random_state=seed)
    Z = torch.cat([ds.X_train, ds.X_val]).numpy()
    y = torch.cat([ds.y_train, ds.y_val]).numpy()
    scale, centre = [], []
    for j in range(2):
        s, m = np.polyfit(np.sort(Z[:, j]), np.sort(X_raw[:, j]), 1)
        scale.append(s)
        centre.append(m)
    X_back = Z * np.array(scale) + np.array(centre)
    mine = np.lexsort(X_back.T[::-1])
    theirs = np.lexsort(X_raw.T[::-1])
    np.testing.assert_allclose(X_back[mine], X_raw[theirs], atol=1e-9)
    np.testing.assert_array_equal(y[mine], y_raw[theirs])
    train_raw = X_back[: len(ds.y_train)]
    np.testing.assert_allclose(centre, train_raw.mean(0), atol=1e-9)
    np.testing.assert_allclose(scale, train_raw.std(0), rtol=1e-9)


def test_splits_are_fixed_by_seed():
    a, b, c = data.blobs(3), data.blobs(3), data.blobs(4)
    assert torch.equal(a.X_train, b.X_train) and torch.equal(a.y_val, b.y_val)
    assert not torch.equal(a.X_train, c.X_train)
    d1, d2 = data.digits(1), data.digits(2)
    assert not torch.equal(d1.y_train, d2.y_train)
    assert torch.equal(data.load("blobs", seed=3).X_val, a.X_val)


def test_dtype_argument():
    ds = data.blobs(0, dtype=torch.float64)
    assert ds.X_train.dtype == torch.float64
    assert torch.allclose(ds.X_train.float(), data.blobs(0).X_train, atol=1e-6)


def test_digits():
    ds = data.digits(0)
    _check_shapes(ds, 1079, 359, 359, 64, 10)
    _check_standardised(ds)
    raw = load_digits()
    counts = np.bincount(torch.cat([ds.y_train, ds.y_val, ds.y_test]).numpy(), minlength=10)
    np.testing.assert_array_equal(counts, np.bincount(raw.target, minlength=10))


def test_mnist1d_is_generated_locally_cached_and_leaves_global_rng_alone(tmp_path, monkeypatch):
    import mnist1d.data

    def no_network(*args, **kwargs):
        raise AssertionError("mnist1d tried to download")

    monkeypatch.setattr(mnist1d.data.requests, "get", no_network)
    monkeypatch.chdir(tmp_path)
    random.seed(123)
    np.random.seed(123)
    before = (random.random(), np.random.rand())
    random.seed(123)
    np.random.seed(123)
    data._mnist1d_arrays.cache_clear()
    ds = data.mnist1d(0)
    after = (random.random(), np.random.rand())
    assert before == after  # the generator's set_seed did not leak out
    assert list(tmp_path.iterdir()) == []  # nothing written (no pickle cache, no download)
    _check_shapes(ds, 3200, 800, 1000, 40, 10)
    _check_standardised(ds)
    again = data.mnist1d(0)
    assert data._mnist1d_arrays.cache_info().hits >= 1
    assert torch.equal(ds.X_train, again.X_train) and torch.equal(ds.y_test, again.y_test)
    other = data.mnist1d(1)
    assert torch.equal(other.y_test, ds.y_test)  # the generator's test split is fixed
    assert not torch.equal(other.y_train, ds.y_train)  # the hold-out is drawn by seed


@pytest.mark.parametrize(
    "call",
    [
        (lambda: data.load("cifar"), "cifar"),
        (lambda: data.blobs(-1), "seed"),
        (lambda: data.blobs(1.5), "seed"),
        (lambda: data.blobs(0, dtype=torch.int64), "dtype"),
        (lambda: data.blobs(0, val_size=0.6, test_size=0.4), "val_size"),
        (lambda: data.blobs(0, val_size=-0.1), "val_size"),
        (lambda: data.blobs(0, centers=1), "centers"),
        (lambda: data.blobs(0, cluster_std=0), "cluster_std"),
        (lambda: data.digits(0, test_size=1.0), "test_size"),
        (lambda: data.mnist1d(0, val_size=1.2), "val_size"),
    ],
)
def test_invalid_arguments_raise_value_error(call):
    call, names = call
    with pytest.raises(ValueError, match=names):
        call()
