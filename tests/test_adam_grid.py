"""sweep_adam: every member of the batched (η × weight decay) grid, and every μP member, equals
its own ordinary training run with torch's Adam / AdamW (the oracle), in float64."""
import numpy as np
import pytest
import torch

from lrcourse import data
from lrcourse.training import loop, metrics, models
from lrcourse.training.adam_grid import sweep_adam
from lrcourse.training.mup import mup_mlp, mup_param_groups


@pytest.fixture(scope="module")
def blobs64():
    return data.blobs(0, n_samples=300, val_size=0.3, test_size=0.2, dtype=torch.float64)


@pytest.mark.parametrize("decay, cls", [("l2", torch.optim.Adam), ("decoupled", torch.optim.AdamW)])
def test_grid_members_equal_torch_runs(blobs64, decay, cls):
    sizes, etas, decays, seeds = (2, 16, 3), [1e-3, 0.05], [0.0, 0.3], (0, 2)
    grid = sweep_adam(etas, blobs64, sizes=sizes, epochs=3, batch_size=32, seeds=seeds, decays=decays,
                      decay=decay, dtype=torch.float64)
    assert grid.val_acc.shape == (2, 2, 2, 3) and grid.test_acc.shape == (2, 2, 2)
    for i, s in enumerate(seeds):
        for j, eta in enumerate(etas):
            for w, lam in enumerate(decays):
                model = models.mlp(sizes, s, torch.float64)
                hist = loop.train(model, cls(model.parameters(), lr=eta, weight_decay=lam), blobs64,
                                  epochs=3, batch_size=32, seed=s, progress=False)
                np.testing.assert_allclose(grid.train_loss[i, j, w], hist.train_loss, rtol=0, atol=1e-10)
                np.testing.assert_allclose(grid.val_loss[i, j, w], hist.val_loss, rtol=0, atol=1e-10)
                _, acc, _ = metrics.evaluate(model, blobs64.X_test, blobs64.y_test, blobs64.n_classes)
                assert grid.test_acc[i, j, w] == pytest.approx(acc, abs=1e-12)


def test_l2_and_decoupled_differ(blobs64):
    kw = dict(sizes=(2, 16, 3), epochs=2, batch_size=32, decays=[0.5], dtype=torch.float64)
    a = sweep_adam([0.05], blobs64, decay="l2", **kw)
    b = sweep_adam([0.05], blobs64, decay="decoupled", **kw)
    assert np.abs(a.val_loss - b.val_loss).max() > 1e-4


def test_mup_members_equal_mup_adam_runs(blobs64):
    sizes, base, etas = (2, 32, 24, 3), (2, 8, 12, 3), [1e-3, 0.03]
    grid = sweep_adam(etas, blobs64, sizes=sizes, base_sizes=base, epochs=3, batch_size=32, seeds=(1,),
                      dtype=torch.float64)
    for j, eta in enumerate(etas):
        model = mup_mlp(sizes, base, 1, torch.float64)
        opt = torch.optim.Adam(mup_param_groups(model, eta, "adam"))
        hist = loop.train(model, opt, blobs64, epochs=3, batch_size=32, seed=1, progress=False)
        np.testing.assert_allclose(grid.train_loss[0, j, 0], hist.train_loss, rtol=0, atol=1e-10)
        np.testing.assert_allclose(grid.val_loss[0, j, 0], hist.val_loss, rtol=0, atol=1e-10)


def test_mup_at_base_widths_is_sp(blobs64):
    kw = dict(sizes=(2, 16, 3), epochs=2, batch_size=32, dtype=torch.float64)
    a = sweep_adam([0.01], blobs64, **kw)
    b = sweep_adam([0.01], blobs64, base_sizes=(2, 16, 3), **kw)
    np.testing.assert_allclose(a.val_loss, b.val_loss, rtol=0, atol=1e-12)


@pytest.mark.parametrize("kwargs, match", [
    (dict(decay="l1"), "Invalid decay"),
    (dict(decays=[]), "Invalid decays"),
    (dict(decays=[-1.0]), "weight_decay"),
    (dict(base_sizes=(2, 8, 3), decays=[0.1]), "not offered with μP"),
    (dict(betas=(0.9, 1.0)), "Invalid betas"),
    (dict(sizes=(3, 8, 3)), "Invalid sizes"),
])
def test_bad_arguments(blobs64, kwargs, match):
    kw = dict(sizes=(2, 8, 3), epochs=1, batch_size=32) | kwargs
    with pytest.raises(ValueError, match=match):
        sweep_adam([0.01], blobs64, **kw)
