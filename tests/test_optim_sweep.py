"""Batched sweeps of any optimizer equal separate train.train runs; effective step sizes."""
import numpy as np
import pytest
import torch

from lrcourse.training import metrics, models
from lrcourse import data, optim
from lrcourse.training import loop as train
from lrcourse.training.optim_sweep import sweep_optimizer
from lrcourse.training.step_sizes import effective_steps

SIZES = (2, 16, 3)


@pytest.fixture(scope="module")
def blobs64():
    return data.blobs(0, n_samples=300, val_size=0.3, test_size=0.2, dtype=torch.float64)


@pytest.mark.parametrize("cls, hyper", [
    (optim.Adam, {}),
    (optim.AdamW, {"weight_decay": 0.1}),
    (optim.SGD, {"momentum": 0.9, "nesterov": True}),
    (optim.RMSprop, {"weight_decay": 1e-2}),
    (torch.optim.Adadelta, {}),
    (torch.optim.Adagrad, {}),
])
def test_members_equal_separate_training_runs(blobs64, cls, hyper):
    etas, seeds = [1e-3, 0.05], (0, 3)
    sw = sweep_optimizer(cls, etas, blobs64, sizes=SIZES, epochs=3, batch_size=32, seeds=seeds,
                         dtype=torch.float64, progress=False, **hyper)
    assert sw.val_acc.shape == (2, 2, 3) and sw.test_acc.shape == (2, 2)
    for i, s in enumerate(seeds):
        for j, eta in enumerate(etas):
            model = models.mlp(SIZES, s, torch.float64)
            hist = train.train(model, cls(model.parameters(), lr=eta, **hyper), blobs64, epochs=3,
                               batch_size=32, seed=s, progress=False)
            np.testing.assert_allclose(sw.train_loss[i, j], hist.train_loss, rtol=0, atol=1e-10)
            np.testing.assert_allclose(sw.val_loss[i, j], hist.val_loss, rtol=0, atol=1e-10)
            np.testing.assert_array_equal(sw.val_acc[i, j], hist.val_acc)
            _, test_acc, _ = metrics.evaluate(model, blobs64.X_test, blobs64.y_test, blobs64.n_classes)
            assert sw.test_acc[i, j] == pytest.approx(test_acc, abs=1e-12)


def test_a_diverging_member_does_not_poison_the_others(blobs64):
    data32 = data.blobs(0, n_samples=300, val_size=0.3, test_size=0.2)
    etas = [0.05, 1e30]  # 1e30: the logits overflow to inf at once
    sw = sweep_optimizer(optim.SGD, etas, data32, sizes=SIZES, epochs=4, batch_size=32, progress=False)
    assert sw.diverged_at[0, 0] == -1 and sw.diverged_at[0, 1] >= 0
    assert np.isnan(sw.val_loss[0, 1, sw.diverged_at[0, 1] + 1:]).all() and np.isnan(sw.test_acc[0, 1])
    alone = sweep_optimizer(optim.SGD, [0.05], data32, sizes=SIZES, epochs=4, batch_size=32, progress=False)
    np.testing.assert_array_equal(alone.val_loss[0, 0], sw.val_loss[0, 0])
    frame = sw.to_frame()
    assert set(frame.columns) >= {"optimizer", "seed", "eta", "epoch", "val_acc", "diverged"}
    assert len(frame) == 4 + sw.diverged_at[0, 1] + 1  # every epoch of the stable run, the other up to divergence
    assert frame["diverged"].any() and not frame.loc[~frame["diverged"], "val_loss"].isna().any()


def test_a_diverging_member_equals_its_ordinary_run_up_to_the_divergence(blobs64):
    """Oracle for divergence in float64: the diverging member stops at the epoch train() does,
    and the epochs before it agree to rounding; the other member is untouched."""
    etas = [0.05, 1e6]
    sw = sweep_optimizer(optim.SGD, etas, blobs64, sizes=SIZES, epochs=8, batch_size=32, dtype=torch.float64,
                         progress=False, momentum=0.5)
    for j, eta in enumerate(etas):
        model = models.mlp(SIZES, 0, torch.float64)
        hist = train.train(model, optim.SGD(model.parameters(), lr=eta, momentum=0.5), blobs64, epochs=8,
                           batch_size=32, seed=0, progress=False)
        d = hist.diverged_at
        assert sw.diverged_at[0, j] == (-1 if d is None else d)
        upto = 8 if d is None else d
        # relative too: the diverging member's losses grow to ~1e250 before they overflow
        np.testing.assert_allclose(sw.train_loss[0, j, :upto], hist.train_loss[:upto], rtol=1e-9, atol=1e-9)
        np.testing.assert_allclose(sw.val_loss[0, j, :upto], hist.val_loss[:upto], rtol=1e-9, atol=1e-9)
        np.testing.assert_array_equal(sw.val_acc[0, j, :upto], hist.val_acc[:upto])
    assert sw.diverged_at[0, 1] >= 1  # the premise: η = 10⁶ diverges, after at least one epoch


def test_sweep_rejects_bad_arguments(blobs64):
    with pytest.raises(ValueError, match="Invalid learning rate: -1.0"):
        sweep_optimizer(optim.Adam, [-1.0], blobs64, epochs=1, batch_size=10)
    with pytest.raises(ValueError, match="Invalid seeds"):
        sweep_optimizer(optim.Adam, [0.1], blobs64, epochs=1, batch_size=10, seeds=())
    with pytest.raises(ValueError, match="Invalid sizes"):
        sweep_optimizer(optim.Adam, [0.1], blobs64, sizes=(3, 4, 3), epochs=1, batch_size=10)
    with pytest.raises(ValueError, match="Invalid epochs"):
        sweep_optimizer(optim.Adam, [0.1], blobs64, epochs=0, batch_size=10)
    with pytest.raises(ValueError, match="Invalid batch_size"):
        sweep_optimizer(optim.Adam, [0.1], blobs64, epochs=1, batch_size=0)
    with pytest.raises(ValueError, match="Invalid dtype"):
        sweep_optimizer(optim.Adam, [0.1], blobs64, epochs=1, batch_size=10, dtype=torch.int64)


def test_effective_step_of_plain_sgd_is_eta_and_adam_spreads(blobs64):
    model = models.mlp(SIZES, 0, torch.float64)
    sgd = effective_steps(model, torch.optim.SGD(model.parameters(), lr=0.07), blobs64, epochs=2, batch_size=30)
    assert sgd.ratio.shape == (2 * 5, 5) and sgd.diverged_at is None  # 150 samples / 30 = 5 steps per epoch
    np.testing.assert_allclose(sgd.ratio, 0.07, rtol=1e-9)  # |Δθ_i| / |g_i| = η for every parameter
    model = models.mlp(SIZES, 0, torch.float64)
    adam = effective_steps(model, torch.optim.Adam(model.parameters(), lr=0.01), blobs64, epochs=2, batch_size=30)
    first = adam.step[0]  # Adam's first step is η·g/(|g| + ε) ≈ η in every coordinate with g ≠ 0
    assert first[2] == pytest.approx(0.01, rel=1e-4)
    assert np.all(np.log10(adam.ratio[:, 4] / adam.ratio[:, 0]) > 0.3)  # rates differ per parameter
    # the loop sees the same batches as train.train
    model = models.mlp(SIZES, 0, torch.float64)
    hist = train.train(model, torch.optim.Adam(model.parameters(), lr=0.01), blobs64, epochs=2,
                       batch_size=30, progress=False)
    np.testing.assert_allclose(adam.loss, hist.batch_loss, rtol=0, atol=1e-12)
    for bad in [(1.5,), (), (0.5, float("nan")), 0.5]:
        with pytest.raises(ValueError, match="Invalid quantiles"):
            effective_steps(model, torch.optim.SGD(model.parameters(), lr=0.1), blobs64, epochs=1,
                            batch_size=30, quantiles=bad)
    with pytest.raises(ValueError, match="Invalid seed"):
        effective_steps(model, torch.optim.SGD(model.parameters(), lr=0.1), blobs64, epochs=1,
                        batch_size=30, seed=-1)
