"""lrcourse.training.sweep: K learning rates as one batched computation equal K ordinary runs."""
import math

import numpy as np
import pytest
import torch

from lrcourse import data
from lrcourse.training.sweep import SweepResult, sweep_lr
from lrcourse.training.models import mlp
from lrcourse.training.loop import train

FIELDS = ("train_loss", "val_loss", "val_acc", "val_auc", "train_auc", "lr", "batch_loss")


@pytest.fixture(scope="module")
def blobs64():
    return data.blobs(0, dtype=torch.float64)


@pytest.fixture(scope="module")
def blobs32():
    return data.blobs(0)


def sequential(ds, eta, *, epochs, batch_size=50, seed=0, momentum=0.0, sizes=(2, 50, 3)):
    model = mlp(sizes, seed=seed, dtype=ds.X_train.dtype)
    opt = torch.optim.SGD(model.parameters(), lr=eta, momentum=momentum)
    return train(model, opt, ds, epochs=epochs, batch_size=batch_size, seed=seed, progress=False)


def assert_same_run(batched, alone, atol):
    assert batched.diverged_at == alone.diverged_at
    for name in FIELDS:
        a, b = np.asarray(getattr(batched, name)), np.asarray(getattr(alone, name))
        assert a.shape == b.shape, name
        if alone.diverged_at is None:  # values of a diverging run are chaotic: compare the rest
            np.testing.assert_allclose(a, b, rtol=0, atol=atol, err_msg=name)


def test_batched_equals_sequential_runs_in_float64(blobs64):
    etas = [0.001, 0.01, 0.03, 0.1]
    res = sweep_lr(etas, blobs64, epochs=20, batch_size=50, dtype=torch.float64, progress=False)
    assert isinstance(res, SweepResult) and res.shape == (4,)
    assert res.train_loss.shape == (4, 20) and res.batch_loss.shape == (4, 200)
    assert (res.diverged_at == -1).all()
    for k, eta in enumerate(etas):
        assert_same_run(res.history(k), sequential(blobs64, eta, epochs=20), atol=1e-9)


def test_momentum_and_uneven_batches_equal_sequential_runs(blobs64):
    etas = [0.01, 0.05]
    res = sweep_lr(etas, blobs64, epochs=5, batch_size=64, momentum=0.9, dtype=torch.float64, progress=False)
    for k, eta in enumerate(etas):
        alone = sequential(blobs64, eta, epochs=5, batch_size=64, momentum=0.9)
        assert_same_run(res.history(k), alone, atol=1e-9)


def test_deep_net_many_classes_and_large_splits_equal_sequential_runs():
    """Digits: 3 layers, 10 classes, a training set evaluated in several chunks (1079 > 512)."""
    ds = data.digits(0, dtype=torch.float64)
    sizes = (64, 32, 16, 10)
    res = sweep_lr([0.01, 0.1], ds, sizes=sizes, seeds=[3, 4], epochs=3, batch_size=32,
                   dtype=torch.float64, progress=False)
    for s, seed in enumerate([3, 4]):
        for e, eta in enumerate([0.01, 0.1]):
            alone = sequential(ds, eta, epochs=3, batch_size=32, seed=seed, sizes=sizes)
            assert_same_run(res.history(s, e), alone, atol=1e-9)


def test_no_hidden_layer_and_many_members_equal_sequential_runs(blobs64):
    """Softmax regression (sizes (2, 3)); and K = 64, where evaluation goes in small chunks."""
    res = sweep_lr([0.01, 0.3], blobs64, sizes=(2, 3), epochs=4, dtype=torch.float64, batch_size=50, progress=False)
    for k, eta in enumerate([0.01, 0.3]):
        assert_same_run(res.history(k), sequential(blobs64, eta, epochs=4, sizes=(2, 3)), atol=1e-9)
    etas = np.logspace(-3, -1, 64)
    res = sweep_lr(etas, blobs64, epochs=3, dtype=torch.float64, batch_size=50, progress=False)
    for k in (0, 40, 63):
        assert_same_run(res.history(k), sequential(blobs64, float(etas[k]), epochs=3), atol=1e-9)


def test_grid_over_seeds_has_a_seed_axis_and_each_seed_its_own_run(blobs64):
    seeds, etas = [0, 1, 2], [0.01, 0.1]
    res = sweep_lr(etas, blobs64, seeds=seeds, epochs=4, dtype=torch.float64, batch_size=50, progress=False)
    assert res.shape == (3, 2) and res.val_auc.shape == (3, 2, 4) and res.seeds == (0, 1, 2)
    for s, seed in enumerate(seeds):
        for e, eta in enumerate(etas):
            assert_same_run(res.history(s, e), sequential(blobs64, eta, epochs=4, seed=seed), atol=1e-9)
    assert not np.allclose(res.train_loss[0], res.train_loss[1])  # different inits and orders
    frame = res.to_frame()
    assert len(frame) == 3 * 2 * 4
    assert set(frame.columns) >= {"seed", "eta", "epoch", "val_loss", "diverged"}


def test_a_diverging_member_is_marked_and_poisons_no_one_float32(blobs32):
    """η = 50 blows up in float32 within a few epochs; the others train on undisturbed."""
    etas = [0.01, 0.05, 50.0]
    res = sweep_lr(etas, blobs32, epochs=20, batch_size=50, progress=False)
    alone = [sequential(blobs32, eta, epochs=20) for eta in etas]
    assert alone[2].diverged_at is not None
    assert res.diverged_at.tolist() == [-1, -1, alone[2].diverged_at]
    for k in range(3):  # float32: batched and sequential round differently (one ULP apart in a sum reorders which ReLUs fire: see the module docstring of lrcourse.training.sweep)
        assert_same_run(res.history(k), alone[k], atol=1e-5)
    k = alone[2].diverged_at
    assert np.isnan(res.val_loss[2, k + 1 :]).all() and np.isfinite(res.val_loss[:2]).all()


def test_a_diverging_member_in_float64_leaves_the_others_exact(blobs64):
    etas = [0.01, 500.0, 0.1]
    res = sweep_lr(etas, blobs64, epochs=20, batch_size=50, dtype=torch.float64, progress=False)
    alone = [sequential(blobs64, eta, epochs=20) for eta in etas]
    assert alone[1].diverged_at is not None and res.diverged_at[1] == alone[1].diverged_at
    for k in range(3):
        assert_same_run(res.history(k), alone[k], atol=1e-9)


def test_when_everyone_diverges_the_sweep_stops_cleanly(blobs32):
    res = sweep_lr([1e4, 1e5], blobs32, epochs=10, batch_size=50, progress=False)
    assert (res.diverged_at >= 0).all()
    last = res.diverged_at.max()
    assert np.isnan(res.train_loss[:, last + 1 :]).all()
    hist = res.history(1)
    assert len(hist.val_loss) == hist.diverged_at + 1 and not math.isfinite(hist.batch_loss[-1])


@pytest.mark.parametrize("etas", [[-1.0], [0.1, float("nan")], [float("inf")], [], [[0.1, 0.2]], ["x"]])
def test_invalid_learning_rates_raise_value_error(blobs32, etas):
    with pytest.raises(ValueError, match="Invalid learning rate"):
        sweep_lr(etas, blobs32, epochs=1, batch_size=50, progress=False)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"momentum": -0.5},
        {"epochs": 0},
        {"batch_size": -1},
        {"sizes": (3, 50, 3)},
        {"sizes": (2, 50, 4)},
        {"seeds": []},
        {"seeds": [0, -1]},
        {"dtype": torch.int32},
    ],
)
def test_invalid_arguments_raise_value_error(blobs32, kwargs):
    args = {"epochs": 1, "batch_size": 50, "progress": False} | kwargs
    with pytest.raises(ValueError):
        sweep_lr([0.1], blobs32, **args)


def test_history_index_is_checked(blobs32):
    res = sweep_lr([0.1, 0.2], blobs32, epochs=1, batch_size=50, progress=True)  # a tqdm bar
    assert res.history(-1).lr == [0.2]
    for bad in [(2,), (0, 0), (True,), (0.5,)]:
        with pytest.raises(ValueError):
            res.history(*bad)
