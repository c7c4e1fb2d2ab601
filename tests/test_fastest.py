"""lrcourse.choosing.fastest: the "fastest learning rate" procedure (one-epoch SSE, then step η down)."""
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from lrcourse import data
from lrcourse.choosing import ceiling
from lrcourse.choosing import fastest
from lrcourse.training.loop import epoch_orders, train
from lrcourse.training.models import mlp


@pytest.fixture(scope="module")
def blobs64():
    return data.blobs(0, dtype=torch.float64)


def test_sse_is_the_summed_squared_error_of_softmax_and_one_hot():
    gen = torch.Generator().manual_seed(1)
    logits = 3 * torch.randn(40, 4, generator=gen, dtype=torch.float64)
    y = torch.randint(0, 4, (40,), generator=gen)
    oracle = F.mse_loss(torch.softmax(logits, -1), F.one_hot(y, 4).double(), reduction="sum")
    assert fastest.summed_squared_error(logits, y) == pytest.approx(float(oracle), rel=1e-12)
    logits[3, 1] = math.nan
    assert fastest.summed_squared_error(logits, y) == math.inf


def test_one_epoch_sse_is_one_epoch_of_plain_sgd_from_the_same_start(blobs64):
    """Oracle: a hand-written SGD loop over the seed's batch order, from mlp(seed)."""
    seed, eta, B = 3, 0.05, 50
    model = mlp((2, 50, 3), seed, torch.float64)
    X, y = blobs64.X_train, blobs64.y_train
    order = next(epoch_orders(len(y), seed))
    for start in range(0, len(y), B):
        idx = order[start:start + B]
        loss = F.cross_entropy(model(X[idx]), y[idx])
        grads = torch.autograd.grad(loss, list(model.parameters()))
        with torch.no_grad():
            for p, g in zip(model.parameters(), grads):
                p -= eta * g  # θ ← θ − η∇L_B(θ)
    with torch.no_grad():
        expected = float(((torch.softmax(model(X), -1) - F.one_hot(y, 3)) ** 2).sum())
    untrained = mlp((2, 50, 3), seed, torch.float64)
    with torch.no_grad():
        at_start = float(((torch.softmax(untrained(X), -1) - F.one_hot(y, 3)) ** 2).sum())
    sse = fastest.one_epoch_sse([1e-12, eta], blobs64, seed=seed, batch_size=B)
    assert sse[1] == pytest.approx(expected, rel=1e-10)
    assert sse[0] == pytest.approx(at_start, rel=1e-9)  # a negligible step: θ_0 itself
    assert sse[1] < sse[0]


def test_a_diverging_eta_scores_infinity_and_is_never_the_fastest():
    raw = ceiling.raw_blobs(2)  # raw coordinates: η = 100 blows up within an epoch
    res = fastest.fastest_lr(raw, [0.01, 0.1, 100.0], epochs=3, patience=2, max_steps=2)
    assert res.sse[-1] == math.inf and np.isfinite(res.sse[:2]).all()
    assert res.fastest < 100.0
    assert list(res.grid_table().kept) == [e <= res.fastest for e in res.grid]


def test_early_stop_rule():
    rising = np.linspace(0.5, 0.8, 11)
    curve = np.concatenate([rising, np.full(30, 0.7)])  # best at epoch 10, then worse
    st = fastest.early_stop(curve, patience=5)
    assert (st.best_epoch, st.stop_epoch, st.stopped_early) == (10, 15, True)
    assert st.best == pytest.approx(curve.max())
    # an equal value is not a gain: a plateau at the maximum still runs out of patience
    st = fastest.early_stop(np.concatenate([rising, np.full(30, rising[-1])]), patience=5)
    assert (st.best_epoch, st.stop_epoch) == (10, 15)
    # a curve that keeps improving trains to the end
    st = fastest.early_stop(np.linspace(0.1, 0.9, 40), patience=5)
    assert (st.best_epoch, st.stop_epoch, st.stopped_early) == (39, 39, False)
    # divergence (NaN) ends the run the epoch before
    st = fastest.early_stop([0.3, 0.4, 0.5, math.nan, 0.9], patience=10)
    assert (st.best_epoch, st.stop_epoch, st.best) == (2, 2, 0.5)


def test_reading_the_batched_curves_equals_separate_runs_stopped_early(blobs64):
    res = fastest.fastest_lr(blobs64, np.logspace(-3, 1, 5), epochs=30, patience=4, max_steps=3, seed=1)
    assert len(res.steps) == 3
    for step in res.steps:
        model = mlp((2, 50, 3), 1, torch.float64)
        alone = train(model, torch.optim.SGD(model.parameters(), lr=step.eta), blobs64,
                      epochs=step.stop_epoch + 1, batch_size=50, seed=1, progress=False)
        np.testing.assert_allclose(alone.val_acc, res.sweep.val_acc[step.k, : step.stop_epoch + 1], atol=1e-12)
        assert max(alone.val_acc) == step.best_acc


@pytest.mark.parametrize("seed", [0, 2])
def test_the_walk_keeps_stepping_while_hold_out_accuracy_improves(seed):
    raw = ceiling.raw_blobs(2)
    res = fastest.fastest_lr(raw, np.logspace(-3, 1, 9), factor=3.0, max_steps=5, epochs=40, patience=10, seed=seed)
    etas = [s.eta for s in res.steps]
    np.testing.assert_allclose(etas, res.fastest / 3.0 ** np.arange(5), rtol=1e-12)
    assert res.fastest == res.grid[np.argmin(res.sse)]
    used = [s for s in res.steps if s.used]
    assert used[0].k == 0 and all(s.k == i for i, s in enumerate(used))  # a prefix of the steps
    for prev, s in zip(used, used[1:]):
        assert s.improved == (s.best_acc > prev.best_acc)
    assert all(s.improved for s in used[1:-1])  # only the last used step may have failed
    last_good = max([0] + [s.k for s in used if s.improved])
    assert res.chosen == pytest.approx(etas[last_good])
    assert res.exhausted == (len(used) == 5 and all(s.improved for s in used[1:]))
    assert res.chosen <= res.fastest


def test_invalid_arguments(blobs64):
    with pytest.raises(ValueError, match="Invalid learning rate"):
        fastest.one_epoch_sse([0.1, -1.0], blobs64)
    with pytest.raises(ValueError, match="Invalid factor"):
        fastest.fastest_lr(blobs64, [0.1], factor=1.0)
    with pytest.raises(ValueError, match="Invalid patience"):
        fastest.fastest_lr(blobs64, [0.1], patience=0)
    with pytest.raises(ValueError, match="Invalid max_steps"):
        fastest.fastest_lr(blobs64, [0.1], max_steps=1)
    with pytest.raises(ValueError, match="Invalid patience"):
        fastest.early_stop([0.5, 0.6], patience=0)
