"""lrcourse.training.loop: the training loop against a plain torch loop, the metrics against
scikit-learn / torch, divergence as a result, and argument checks."""
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from sklearn.metrics import roc_auc_score
from sklearn.preprocessing import label_binarize

from lrcourse import data
from lrcourse.training.loop import History, epoch_orders, train
from lrcourse.training.metrics import accuracy, macro_auc
from lrcourse.training.models import mlp
from lrcourse._runtime import show_progress


# ---------------------------------------------------------------------------------------------
# building blocks


def test_mlp_is_torch_default_init_under_manual_seed_and_keeps_global_rng():
    torch.manual_seed(999)
    expected_next = torch.rand(1)
    torch.manual_seed(999)
    model = mlp((2, 50, 3), seed=4)
    assert torch.rand(1) == expected_next  # the caller's RNG stream is untouched
    assert [type(m).__name__ for m in model] == ["Linear", "ReLU", "Linear"]
    torch.manual_seed(4)
    ref = torch.nn.Sequential(torch.nn.Linear(2, 50), torch.nn.ReLU(), torch.nn.Linear(50, 3))
    for p, q in zip(model.parameters(), ref.parameters()):
        assert torch.equal(p, q)
    deep = mlp((64, 32, 16, 10), seed=0, dtype=torch.float64)
    assert [type(m).__name__ for m in deep] == ["Linear", "ReLU", "Linear", "ReLU", "Linear"]
    assert all(p.dtype == torch.float64 for p in deep.parameters())


@pytest.mark.parametrize("sizes", [(2,), (2, 0, 3), (2, 50.0, 3), "abc", 5])
def test_mlp_rejects_bad_sizes(sizes):
    with pytest.raises(ValueError, match="Invalid sizes"):
        mlp(sizes)


def test_epoch_orders_are_seeded_permutations():
    a, b, c = epoch_orders(10, 3), epoch_orders(10, 3), epoch_orders(10, 4)
    first = [next(a) for _ in range(3)]
    assert all(torch.equal(torch.sort(p).values, torch.arange(10)) for p in first)
    assert not torch.equal(first[0], first[1])  # a fresh order each epoch
    assert all(torch.equal(p, next(b)) for p in first)
    assert not torch.equal(first[0], next(c))


@pytest.mark.parametrize("n_classes", [2, 3, 5])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_macro_auc_equals_sklearn(n_classes, dtype):
    g = torch.Generator().manual_seed(n_classes)
    n = 97
    y = torch.randint(0, n_classes, (n,), generator=g)
    y[:n_classes] = torch.arange(n_classes)  # every class present
    coarse = torch.randint(-3, 4, (4, n, n_classes), generator=g).to(dtype)  # many ties
    fine = torch.randn(4, n, n_classes, generator=g, dtype=dtype)
    for raw in (coarse, fine):
        for scores in (raw.softmax(-1), raw, raw.transpose(1, 2).contiguous().transpose(1, 2)):
            got = macro_auc(scores, y, n_classes)
            assert got.shape == (4,) and got.dtype == torch.float64
            for k in range(4):
                s = scores[k].double().numpy()
                if n_classes == 2:
                    ref = roc_auc_score(y.numpy(), s[:, 1])
                else:
                    ref = roc_auc_score(label_binarize(y.numpy(), classes=range(n_classes)), s)
                assert abs(got[k].item() - ref) < 1e-12


def test_macro_auc_is_nan_for_non_finite_scores_or_a_missing_class():
    y = torch.tensor([0, 1, 2, 0, 1, 2])
    scores = torch.rand(2, 6, 3).softmax(-1)
    scores[1, 2, 0] = math.nan
    got = macro_auc(scores, y, 3)
    assert math.isfinite(got[0]) and math.isnan(got[1])
    assert math.isnan(macro_auc(torch.rand(6, 3), torch.tensor([0, 1, 0, 1, 0, 1]), 3))
    assert math.isnan(macro_auc(torch.full((4, 2), math.inf), torch.tensor([0, 1, 0, 1]), 2))


def test_accuracy_equals_argmax_including_ties_and_nan():
    g = torch.Generator().manual_seed(0)
    scores = torch.randint(0, 3, (5, 3, 40), generator=g).float()  # many ties
    scores[0, 1, :5] = math.nan
    y = torch.randint(0, 3, (40,), generator=g)
    expected = (scores.argmax(1) == y).double().mean(-1)
    assert torch.equal(accuracy(scores, y, dim=1), expected)
    assert accuracy(scores[2].T, y).item() == expected[2].item()


# ---------------------------------------------------------------------------------------------
# the loop


def _reference_run(data_, eta, epochs, batch_size, seed, momentum=0.0):
    """Plain torch: same init, same batch order, F.cross_entropy, torch.optim.SGD."""
    model = mlp((2, 50, 3), seed=seed, dtype=data_.X_train.dtype)
    opt = torch.optim.SGD(model.parameters(), lr=eta, momentum=momentum)
    gen = torch.Generator().manual_seed(seed)
    losses = []
    n = len(data_.y_train)
    for _ in range(epochs):
        order = torch.randperm(n, generator=gen)
        for i in range(0, n, batch_size):
            idx = order[i : i + batch_size]
            loss = F.cross_entropy(model(data_.X_train[idx]), data_.y_train[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
    return model, losses


@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_train_matches_a_plain_torch_loop(blobs64, momentum):
    model = mlp((2, 50, 3), seed=2, dtype=torch.float64)
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=momentum)
    hist = train(model, opt, blobs64, epochs=4, batch_size=64, seed=2, progress=False)
    ref_model, ref_losses = _reference_run(blobs64, 0.05, 4, 64, seed=2, momentum=momentum)
    assert len(hist.batch_loss) == 4 * 8  # 500 samples in batches of 64: 7 full + 1 of 52
    np.testing.assert_allclose(hist.batch_loss, ref_losses, rtol=0, atol=1e-12)
    for p, q in zip(model.parameters(), ref_model.parameters()):
        torch.testing.assert_close(p, q, rtol=0, atol=1e-12)
    # the last epoch's record is the hold-out / training evaluation of the final model
    with torch.no_grad():
        out_val, out_train = ref_model(blobs64.X_val), ref_model(blobs64.X_train)
    assert abs(hist.val_loss[-1] - F.cross_entropy(out_val, blobs64.y_val).item()) < 1e-12
    assert hist.val_acc[-1] == (out_val.argmax(1) == blobs64.y_val).double().mean().item()
    p_val, p_train = out_val.softmax(-1).numpy(), out_train.softmax(-1).numpy()
    assert abs(hist.val_auc[-1] - roc_auc_score(blobs64.y_val, p_val, multi_class="ovr")) < 1e-9
    assert abs(hist.train_auc[-1] - roc_auc_score(blobs64.y_train, p_train, multi_class="ovr")) < 1e-9
    # the epoch mean is the sample-weighted mean of that epoch's batch losses
    sizes = np.array([64] * 7 + [52])
    last = np.array(hist.batch_loss[-8:])
    assert abs(hist.train_loss[-1] - (last * sizes).sum() / 500) < 1e-12


def test_history_shape_lr_and_frame(blobs32):
    model = mlp((2, 50, 3), seed=0)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    hist = train(model, opt, blobs32, epochs=3, batch_size=50, progress=False)
    assert isinstance(hist, History) and hist.diverged_at is None
    for name in ("train_loss", "val_loss", "val_acc", "val_auc", "train_auc", "lr"):
        assert len(getattr(hist, name)) == 3
    assert hist.lr == [0.1, 0.1, 0.1] and len(hist.batch_loss) == 30
    assert hist.train_loss[-1] < hist.train_loss[0]  # it learns
    frame = hist.to_frame()
    assert list(frame.columns) == ["epoch", "train_loss", "val_loss", "val_acc", "val_auc", "train_auc", "lr"]
    assert frame["epoch"].tolist() == [0, 1, 2] and frame["val_loss"].tolist() == hist.val_loss


def test_same_seed_same_run_other_seed_other_order(blobs32):
    def run(seed):
        model = mlp((2, 50, 3), seed=0)
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        return train(model, opt, blobs32, epochs=2, batch_size=50, seed=seed, progress=False)

    assert run(1).batch_loss == run(1).batch_loss
    assert run(1).batch_loss != run(2).batch_loss


def test_schedulers_step_per_epoch_or_per_batch(blobs32):
    model = mlp((2, 50, 3), seed=0)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    hist = train(model, opt, blobs32, epochs=3, batch_size=50, scheduler=sched, progress=False)
    np.testing.assert_allclose(hist.lr, [0.1, 0.05, 0.025])

    model = mlp((2, 50, 3), seed=0)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda t: 1.0 / (1 + t))  # t counts batches
    hist = train(model, opt, blobs32, epochs=3, batch_size=50, scheduler=sched, scheduler_step="batch", progress=False)
    np.testing.assert_allclose(hist.lr, [0.1, 0.1 / 11, 0.1 / 21])

    model = mlp((2, 50, 3), seed=0)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    plateau = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, patience=0, factor=0.5)
    hist = train(model, opt, blobs32, epochs=3, batch_size=250, scheduler=plateau, progress=False)
    assert len(hist.lr) == 3  # it was given the hold-out loss and did not complain


def test_divergence_is_a_result_not_an_error(blobs32):
    model = mlp((2, 50, 3), seed=0)
    opt = torch.optim.SGD(model.parameters(), lr=50.0)
    hist = train(model, opt, blobs32, epochs=30, batch_size=50, progress=False)
    k = hist.diverged_at
    assert k is not None and k < 30
    for name in ("train_loss", "val_loss", "val_acc", "val_auc", "train_auc", "lr"):
        assert len(getattr(hist, name)) == k + 1  # the record stops with the diverging epoch
    assert not math.isfinite(hist.batch_loss[-1]) or not math.isfinite(hist.val_loss[-1])
    assert all(math.isfinite(v) for v in hist.batch_loss[:-1])
    assert len(hist.batch_loss) <= (k + 1) * 10
    frame = hist.to_frame()
    assert len(frame) == k + 1


def test_auc_of_non_finite_outputs_is_nan_not_a_crash(blobs32):
    model = mlp((2, 50, 3), seed=0)
    with torch.no_grad():
        model[0].weight.fill_(math.inf)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    hist = train(model, opt, blobs32, epochs=5, batch_size=50, progress=False)
    assert hist.diverged_at == 0 and len(hist.batch_loss) == 1
    assert math.isnan(hist.val_auc[0]) and math.isnan(hist.train_auc[0])


def test_threads_are_restored_and_progress_auto_is_off_in_tests(blobs32):
    before = torch.get_num_threads()
    model = mlp((2, 50, 3), seed=0)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    train(model, opt, blobs32, epochs=1, batch_size=50, progress=True, threads=1)
    assert torch.get_num_threads() == before
    assert show_progress("auto") is False  # pytest's stderr is not a terminal
    assert show_progress(True) is True and show_progress(False) is False


@pytest.mark.parametrize(
    "kwargs",
    [
        {"epochs": 0},
        {"batch_size": 0},
        {"epochs": 2.5},
        {"scheduler_step": "step"},
        {"seed": -1},
        {"progress": "yes"},
        {"threads": 0},
    ],
)
def test_invalid_arguments_raise_value_error(blobs32, kwargs):
    name = {"threads": "number of threads"}.get(next(iter(kwargs)), next(iter(kwargs)))
    model = mlp((2, 50, 3), seed=0)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    args = {"epochs": 1, "batch_size": 50, "progress": False} | kwargs
    with pytest.raises(ValueError, match=f"Invalid {name}"):
        train(model, opt, blobs32, **args)


def test_dtype_mismatch_is_a_clear_error(blobs64):
    model = mlp((2, 50, 3), seed=0)  # float32
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="dtype"):
        train(model, opt, blobs64, epochs=1, batch_size=50, progress=False)


def test_train_drives_our_reduce_on_plateau_like_torchs():
    """train() feeds the hold-out loss to lrcourse's ReduceLROnPlateau exactly as to torch's."""
    import torch

    from lrcourse import data as D
    from lrcourse.schedules import lr_scheduler as schedules
    from lrcourse.training.models import mlp
    from lrcourse.training.loop import train

    ds = D.blobs(0)
    runs = []
    for cls in (torch.optim.lr_scheduler.ReduceLROnPlateau, schedules.ReduceLROnPlateau):
        model = mlp((2, 50, 3), seed=0)
        opt = torch.optim.SGD(model.parameters(), lr=0.5)
        sched = cls(opt, factor=0.5, patience=1)
        runs.append(train(model, opt, ds, epochs=12, batch_size=50, scheduler=sched, seed=0, progress=False))
    assert runs[0].lr == runs[1].lr
    assert min(runs[1].lr) < 0.5  # the plateau rule did fire


def test_reduce_on_plateau_is_fed_the_hold_out_loss(blobs32):
    """train() must step ReduceLROnPlateau with each epoch's hold-out loss, not the training
    loss: a scheduler that records what it is given sees History.val_loss, epoch by epoch."""
    from lrcourse.schedules.plateau import ReduceLROnPlateau

    seen = []

    class Recording(ReduceLROnPlateau):
        def step(self, metrics, epoch=None):
            seen.append(float(metrics))
            super().step(metrics)

    model = mlp((2, 50, 3), seed=0)
    opt = torch.optim.SGD(model.parameters(), lr=0.5)
    hist = train(model, opt, blobs32, epochs=6, batch_size=50, progress=False,
                 scheduler=Recording(opt, patience=0, factor=0.5))
    assert seen == hist.val_loss
    assert seen != hist.train_loss  # the two differ, so feeding the wrong one would be caught
