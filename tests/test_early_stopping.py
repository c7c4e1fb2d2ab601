"""lrcourse.choosing.early_stopping: three-split batched runs equal sweep_lr's; choosing the epoch."""
import dataclasses
import math

import numpy as np
import pytest
import torch

from lrcourse import data
from lrcourse.choosing import fastest
from lrcourse.choosing.early_stopping import at_epoch, best_epoch, epoch_at_progress, patience_stop
from lrcourse.training.sweep import SplitCurves, sweep_lr, sweep_splits


@pytest.fixture(scope="module")
def digits64():
    ds = data.digits(0, dtype=torch.float64)
    n = 300  # a small training split keeps the test quick
    return dataclasses.replace(ds, X_train=ds.X_train[:n], y_train=ds.y_train[:n])


def as_holdout(ds, split):
    """The same data with ``split`` in the hold-out slot: sweep_lr's val curves then score it."""
    X, y = getattr(ds, f"X_{split}"), getattr(ds, f"y_{split}")
    return dataclasses.replace(ds, X_val=X, y_val=y)


@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_every_split_equals_sweep_lr_scoring_that_split(digits64, momentum):
    """The oracle: sweep_lr trains the same members; pointing its hold-out slot at the train,
    val or test split gives that split's curves, which sweep_splits records all at once."""
    etas, seeds, sizes = [0.003, 0.03, 0.3], [1, 2], (64, 40, 10)
    kw = dict(sizes=sizes, epochs=6, batch_size=32, momentum=momentum, dtype=torch.float64, progress=False)
    res = sweep_splits(etas, digits64, seeds=seeds, **kw)
    assert isinstance(res, SplitCurves) and res.val_loss.shape == (2, 3, 6)
    assert res.steps_per_epoch == math.ceil(300 / 32)
    for split in ("train", "val", "test"):
        ref = sweep_lr(etas, as_holdout(digits64, split), seeds=seeds, **kw)
        np.testing.assert_array_equal(res.diverged_at, ref.diverged_at)
        np.testing.assert_allclose(getattr(res, f"{split}_loss"), ref.val_loss, rtol=0, atol=1e-10)
        np.testing.assert_allclose(getattr(res, f"{split}_acc"), ref.val_acc, rtol=0, atol=1e-12)


def test_diverging_member_stops_where_sweep_lr_says_and_others_go_on():
    ds = data.blobs(0, dtype=torch.float64, val_size=0.3, test_size=0.2)
    etas = [0.05, 1e4]  # 1e4 diverges after a few epochs in float64 (checked: epoch 4)
    kw = dict(epochs=8, batch_size=50, dtype=torch.float64, progress=False)
    res = sweep_splits(etas, ds, seeds=[0], **kw)
    ref = sweep_lr(etas, ds, seeds=[0], **kw)
    np.testing.assert_array_equal(res.diverged_at, ref.diverged_at)
    d = int(res.diverged_at[0, 1])
    assert d >= 0 and res.diverged_at[0, 0] == -1
    assert np.isnan(res.test_acc[0, 1, d + 1:]).all() and np.isfinite(res.test_acc[0, 0]).all()
    frame = res.to_frame()
    assert len(frame) == 8 + (d + 1) and set(frame.diverged) == {False, True}


def test_best_epoch_is_the_first_minimum_of_the_finite_epochs():
    v = np.array([[3.0, 2.0, 1.0, 1.0, 2.0],
                  [1.0, np.nan, np.nan, np.nan, np.nan],  # diverged after epoch 0
                  [np.nan] * 5,  # nothing finite
                  [5.0, 4.0, 3.0, 2.5, 2.4]])
    np.testing.assert_array_equal(best_epoch(v), [2, 0, -1, 4])
    np.testing.assert_array_equal(best_epoch(v.reshape(2, 2, 5)), [[2, 0], [-1, 4]])


def _patient_reference(curve, p):
    """Epoch-by-epoch early stopping written the long way round."""
    best, best_at, waited = math.inf, -1, 0
    for t, value in enumerate(curve):
        if math.isnan(value):
            return best_at
        if value < best:
            best, best_at, waited = value, t, 0
        else:
            waited += 1
            if waited == p:
                return best_at
    return best_at


@pytest.mark.parametrize("patience", [1, 3, 10])
def test_patience_stops_at_the_first_run_of_p_epochs_without_a_new_minimum(patience):
    rng = np.random.default_rng(0)
    curves = np.cumsum(rng.normal(0, 1, (200, 30)), axis=1)  # random walks: many local minima
    curves[::7, 20:] = np.nan
    got = best_epoch(curves, patience)
    want = [_patient_reference(c, patience) for c in curves]
    np.testing.assert_array_equal(got, want)
    full = best_epoch(curves)
    stopped = at_epoch(curves, got)
    assert (stopped >= at_epoch(curves, full)).all()  # never better than the whole run's minimum
    assert (got != full).any()  # and on noisy curves it sometimes stops too soon


def test_at_epoch_reads_each_run_at_its_epoch_and_nan_where_none():
    c = np.arange(24.0).reshape(2, 3, 4)
    e = np.array([[0, 3, -1], [2, 1, 0]])
    np.testing.assert_array_equal(at_epoch(c, e), [[0.0, 7.0, np.nan], [14.0, 17.0, 20.0]])
    with pytest.raises(ValueError, match="Shapes do not match"):
        at_epoch(c, e[0])
    with pytest.raises(ValueError, match="Epochs must be in"):
        at_epoch(c, np.full((2, 3), 4))


def test_epoch_at_progress_is_the_first_epoch_with_eta_t_at_least_p():
    etas, N, P, T = np.geomspace(1e-3, 3, 40), 10, 2.0, 60
    e = epoch_at_progress(etas, N, P, T)
    for eta, k in zip(etas, e):
        first = next((j for j in range(T) if eta * (j + 1) * N >= P * (1 - 1e-12)), -1)
        assert k == first
    assert e[0] == -1 and e[-1] == 0
    # exact multiples: η = 0.1, N = 10 → one epoch is progress 1.0; P = 3 needs exactly 3 epochs
    assert epoch_at_progress([0.1], 10, 3.0, 10)[0] == 2


def _stop_reference(curve, p):
    """(best epoch, last epoch read, stopped early) — the rule in the docstring, step by step."""
    best, best_at, waited = math.inf, -1, 0
    for t, value in enumerate(curve):
        if not math.isfinite(value):
            return best_at, t - 1, False
        if value < best:
            best, best_at, waited = value, t, 0
        else:
            waited += 1
            if waited == p:
                return best_at, t, True
    return best_at, len(curve) - 1, False


@pytest.mark.parametrize("patience", [None, 1, 4])
def test_one_rule_for_loss_and_accuracy_curves_and_one_nan_handling(patience):
    """best_epoch (loss, lower is better) and fastest.early_stop (accuracy, higher is better)
    are the same rule: the accuracy curve −c stops where the loss curve c does."""
    rng = np.random.default_rng(1)
    curves = np.cumsum(rng.normal(0, 1, (120, 25)), axis=1)
    curves[::5, 12:] = np.nan  # diverged runs
    curves[1::9, :] = np.nan  # runs with nothing finite
    curves[2::11, 7] = np.inf  # an overflow ends a run too
    best, stop, stopped = patience_stop(curves, patience)
    np.testing.assert_array_equal(best, best_epoch(curves, patience))
    np.testing.assert_array_equal(patience_stop(-curves, patience, mode="max")[0], best)
    for r, c in enumerate(curves):
        want = _stop_reference(c, patience)
        assert (best[r], stop[r], stopped[r]) == want
        if patience is not None:
            st = fastest.early_stop(-c, patience)
            assert (st.best_epoch, st.stop_epoch, st.stopped_early) == want
            assert (math.isnan(st.best) and want[0] == -1) or st.best == -c[want[0]]


@pytest.mark.parametrize("call, message", [
    (lambda ds: sweep_splits([-1.0], ds, epochs=1, batch_size=10), "Invalid learning rate: -1.0"),
    (lambda ds: sweep_splits([0.1], ds, epochs=0, batch_size=10), "Invalid epochs"),
    (lambda ds: sweep_splits([0.1], ds, epochs=1, batch_size=10, seeds=[]), "Invalid seeds"),
    (lambda ds: sweep_splits([0.1], ds, epochs=1, batch_size=10, momentum=-0.5), "Invalid momentum value"),
    (lambda ds: sweep_splits([0.1], ds, epochs=1, batch_size=10, sizes=(3, 5, 3)), "Invalid sizes"),
    (lambda ds: best_epoch(np.zeros((3, 0))), "Invalid curve.*non-empty"),
    (lambda ds: patience_stop(np.zeros(3), mode="best"), "Invalid mode"),
    (lambda ds: epoch_at_progress([0.1], 0, 1.0, 5), "Invalid steps_per_epoch"),
    (lambda ds: epoch_at_progress([0.1], 10, 1.0, 0), "Invalid epochs"),
    (lambda ds: epoch_at_progress([0.0], 10, 1.0, 5), "Invalid learning rate: 0.0"),
    (lambda ds: best_epoch(np.zeros((3, 4)), patience=0), "Invalid patience"),
    (lambda ds: epoch_at_progress([0.1], 10, -1.0, 5), "Invalid progress"),
])
def test_invalid_arguments_raise(call, message):
    with pytest.raises(ValueError, match=message):
        call(data.blobs(0))
