"""lrcourse.training.sweep: K learning rates as one batched computation equal K ordinary runs."""
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from lrcourse import data
from lrcourse.training.sweep import SplitCurves, SweepResult, sweep_lr, sweep_splits
from lrcourse.training.models import mlp
from lrcourse.training.loop import epoch_orders, train
from lrcourse.training.metrics import accuracy

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
    "kwargs, message",
    [
        ({"momentum": -0.5}, "Invalid momentum value"),
        ({"epochs": 0}, "Invalid epochs"),
        ({"batch_size": -1}, "Invalid batch_size"),
        ({"sizes": (3, 50, 3)}, "Invalid sizes"),
        ({"sizes": (2, 50, 4)}, "Invalid sizes"),
        ({"seeds": []}, "Invalid seeds"),
        ({"seeds": [0, -1]}, "Invalid seeds"),
        ({"seed": -1}, "Invalid seed"),
        ({"dtype": torch.int32}, "Invalid dtype"),
        ({"eval_every": 0}, "Invalid eval_every"),
        ({"progress": "yes"}, "Invalid progress"),
    ],
)
def test_invalid_arguments_raise_value_error(blobs32, kwargs, message):
    args = {"epochs": 1, "batch_size": 50, "progress": False} | kwargs
    with pytest.raises(ValueError, match=message):
        sweep_lr([0.1], blobs32, **args)
    if "seed" not in kwargs and "eval_every" not in kwargs:  # sweep_splits checks the same way
        args.setdefault("seeds", [0])
        with pytest.raises(ValueError, match=message):
            sweep_splits([0.1], blobs32, **args)


def test_history_index_is_checked(blobs32):
    res = sweep_lr([0.1, 0.2], blobs32, epochs=1, batch_size=50, progress=True)  # a tqdm bar
    assert res.history(-1).lr == [0.2]
    for bad in [(2,), (0, 0), (True,), (0.5,)]:
        with pytest.raises(ValueError, match="Invalid member index"):
            res.history(*bad)


# ------------------------------------------------------------------------------ eval_every


def test_eval_every_scores_the_evaluated_epochs_exactly_and_leaves_the_rest_nan(blobs64):
    etas = [0.003, 0.03, 0.3]
    kw = dict(epochs=8, batch_size=50, dtype=torch.float64, progress=False)
    full = sweep_lr(etas, blobs64, **kw)
    sparse = sweep_lr(etas, blobs64, eval_every=3, **kw)
    assert sparse.evaluated.tolist() == [e in (2, 5, 7) for e in range(8)]  # every 3rd and the last
    assert full.evaluated.all() and full.eval_every == 1 and sparse.eval_every == 3
    np.testing.assert_array_equal(sparse.train_loss, full.train_loss)
    np.testing.assert_array_equal(sparse.batch_loss, full.batch_loss)
    for name in ("val_loss", "val_acc", "val_auc", "train_auc"):
        a, b = getattr(sparse, name), getattr(full, name)
        np.testing.assert_array_equal(a[:, sparse.evaluated], b[:, sparse.evaluated])
        assert np.isnan(a[:, ~sparse.evaluated]).all()
    for k, eta in enumerate(etas):  # and the evaluated epochs are those of an ordinary run
        alone = sequential(blobs64, eta, epochs=8)
        np.testing.assert_allclose(sparse.val_loss[k, sparse.evaluated], np.asarray(alone.val_loss)[sparse.evaluated],
                                   rtol=0, atol=1e-9)


def test_eval_every_still_evaluates_the_epoch_a_member_diverges_in(blobs64):
    etas = [0.01, 500.0]
    res = sweep_lr(etas, blobs64, epochs=12, batch_size=50, eval_every=5, dtype=torch.float64, progress=False)
    alone = [sequential(blobs64, eta, epochs=12) for eta in etas]
    d = alone[1].diverged_at
    assert d is not None and d not in (4, 9, 11)  # a divergence between scheduled evaluations
    assert res.diverged_at.tolist() == [-1, d] and res.evaluated[d]
    hist = res.history(1)
    assert len(hist.val_loss) == d + 1 and not math.isnan(hist.val_acc[d])
    # the diverging epoch's numbers are chaotic (compared with the every-epoch sweep, not train)
    full = sweep_lr(etas, blobs64, epochs=12, batch_size=50, dtype=torch.float64, progress=False)
    np.testing.assert_array_equal(res.val_acc[:, res.evaluated], full.val_acc[:, res.evaluated])
    np.testing.assert_allclose(res.val_loss[0, res.evaluated], np.asarray(alone[0].val_loss)[res.evaluated],
                               rtol=0, atol=1e-9)


# ---------------------------------------------------------------------------- sweep_splits


def splits_oracle(ds, eta, *, seed, epochs, batch_size, momentum=0.0, sizes=(2, 50, 3)):
    """One ordinary model, torch.optim.SGD on the seed's batch order, scored on every split
    after every epoch; stops after the epoch whose batch or hold-out loss is non-finite."""
    model = mlp(sizes, seed, ds.X_train.dtype)
    opt = torch.optim.SGD(model.parameters(), lr=eta, momentum=momentum)
    orders = epoch_orders(len(ds.y_train), seed)
    curves = {f"{s}_{m}": [] for s in ("train", "val", "test") for m in ("loss", "acc")}
    for epoch in range(epochs):
        order = next(orders)
        diverged = False
        for start in range(0, len(order), batch_size):
            idx = order[start:start + batch_size]
            loss = F.cross_entropy(model(ds.X_train[idx]), ds.y_train[idx])
            if not math.isfinite(loss.item()):
                diverged = True
                break
            opt.zero_grad()
            loss.backward()
            opt.step()
        with torch.no_grad():
            for split in ("train", "val", "test"):
                X, y = getattr(ds, f"X_{split}"), getattr(ds, f"y_{split}")
                out = model(X)
                curves[f"{split}_loss"].append(F.cross_entropy(out, y).item())
                curves[f"{split}_acc"].append(float(accuracy(out, y)))
        if diverged or not math.isfinite(curves["val_loss"][-1]):
            return curves, epoch
    return curves, None


@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_sweep_splits_members_equal_ordinary_runs_scored_on_three_splits(momentum):
    ds = data.blobs(0, dtype=torch.float64, val_size=0.3, test_size=0.2)
    etas, seeds = [0.01, 0.2, 1e4], [0, 2]  # 1e4 diverges within a few epochs
    res = sweep_splits(etas, ds, seeds=seeds, epochs=8, batch_size=50, momentum=momentum,
                       dtype=torch.float64, progress=False)
    assert isinstance(res, SplitCurves) and res.val_acc.shape == (2, 3, 8)
    diverged = 0
    for s, seed in enumerate(seeds):
        for e, eta in enumerate(etas):
            curves, d = splits_oracle(ds, eta, seed=seed, epochs=8, batch_size=50, momentum=momentum)
            assert res.diverged_at[s, e] == (-1 if d is None else d)
            upto = 8 if d is None else d  # epochs before the divergence (its own epoch is chaotic)
            for name, values in curves.items():
                # relative too: a diverging member's losses reach 1e273 before they overflow
                np.testing.assert_allclose(getattr(res, name)[s, e, :upto], values[:upto], rtol=1e-9, atol=1e-9,
                                           err_msg=f"{name} seed {seed} eta {eta}")
            if d is not None:
                diverged += 1
                assert np.isnan(res.val_loss[s, e, d + 1:]).all()
    assert diverged >= 2  # the test saw the diverging members it was written for
