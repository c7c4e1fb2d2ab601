"""lrcourse.training.engine: K stacked MLPs against K ordinary torch models (float64).

The oracle is always torch itself: ``mlp(sizes, seed)`` (an ``nn.Sequential``), its forward
pass, ``F.cross_entropy`` and autograd's gradients, one member at a time.
"""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from lrcourse.training import engine
from lrcourse.training.engine import StackedMLP, chunks, epoch_batches, with_ones
from lrcourse.training.loop import epoch_orders
from lrcourse.training.metrics import evaluate
from lrcourse.training.models import mlp

D = torch.float64
SIZES = (5, 7, 6, 4)  # two hidden layers, four classes


def inputs(n, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, SIZES[0], generator=g, dtype=D), torch.randint(0, SIZES[-1], (n,), generator=g)


def members(seeds, repeats, etas=None):
    nets = [list(mlp(SIZES, s, D).parameters()) for s in seeds]
    return StackedMLP.from_nets(nets, repeats, etas=etas)


def autograd_member(seed, x, y):
    """Loss and gradients of one ordinary model by autograd: [W_1, b_1, W_2, b_2, …]."""
    model = mlp(SIZES, seed, D)
    loss = F.cross_entropy(model(x), y)
    return loss.item(), torch.autograd.grad(loss, list(model.parameters()))


def as_torch_order(stack, grads):
    """The engine's gradients [∂[W_1|b_1], ∂W_2…, ∂b_2…] as per-member [∂W_1, ∂b_1, ∂W_2, …]."""
    L = stack.n_layers
    Ws = [grads[0][..., :-1]] + grads[1:L]
    bs = [grads[0][..., -1]] + [g[..., 0] for g in grads[L:]]
    return [[t[k] for pair in zip(Ws, bs) for t in pair] for k in range(len(stack))]


def test_shared_batch_loss_and_grads_equal_autograd_for_every_member():
    x, y = inputs(23)
    stack = members([3], 4)  # four copies of one seed's model read the same batch
    loss, grads = stack.loss_and_grads(with_ones(x.T, 0), y, F.one_hot(y, 4).T.to(D))
    want_loss, want = autograd_member(3, x, y)
    for k, got in enumerate(as_torch_order(stack, grads)):
        assert loss[k].item() == pytest.approx(want_loss, abs=1e-13)
        for a, b in zip(got, want):
            assert a.shape == b.shape
            torch.testing.assert_close(a, b, rtol=0, atol=1e-13)


def test_per_seed_batches_loss_and_grads_equal_autograd_for_every_member():
    seeds = [0, 5, 9]
    stack = members(seeds, 2)
    X, y = inputs(40, seed=1)
    one_hot = F.one_hot(y, 4).to(D)
    Xs, Ys, Hs = epoch_batches(X, y, one_hot, [epoch_orders(40, s) for s in seeds])
    cut = slice(10, 27)
    loss, grads = stack.loss_and_grads(Xs[:, :, cut], Ys[:, cut], Hs[:, :, cut])
    per_member = as_torch_order(stack, grads)
    for s, seed in enumerate(seeds):
        order = next(epoch_orders(40, seed))[cut]  # the seed's own first-epoch batch
        want_loss, want = autograd_member(seed, X[order], y[order])
        for k in (2 * s, 2 * s + 1):
            assert loss[k].item() == pytest.approx(want_loss, abs=1e-13)
            for a, b in zip(per_member[k], want):
                torch.testing.assert_close(a, b, rtol=0, atol=1e-13)


def test_forward_on_chunks_and_the_functional_forward_equal_the_torch_model():
    x, _ = inputs(50, seed=2)
    stack = members([1, 2], 3)
    logits = stack.logits(chunks(x, 16))  # several chunks, reused buffers
    Ws, bs = stack.Ws, stack.bs
    functional = engine.forward(Ws, bs, x.T)
    for k, seed in enumerate([1, 1, 1, 2, 2, 2]):
        want = mlp(SIZES, seed, D)(x).detach().T
        torch.testing.assert_close(logits[k], want, rtol=0, atol=1e-13)
        torch.testing.assert_close(functional[k], want, rtol=0, atol=1e-13)


@pytest.mark.parametrize("activation, module", [("tanh", torch.nn.Tanh), ("relu", torch.nn.ReLU)])
@pytest.mark.parametrize("loss", ["cross_entropy", "mse"])
def test_functional_forward_and_member_losses_are_differentiable(activation, module, loss):
    """Under autograd (as the sharpness tracker uses it): the gradient of member k's loss is
    that of a torch model with the same weights."""
    x, y = inputs(30, seed=3)
    model = torch.nn.Sequential(torch.nn.Linear(5, 7, dtype=D), module(), torch.nn.Linear(7, 4, dtype=D))
    Ws = [model[0].weight.detach()[None].repeat(2, 1, 1).requires_grad_(),
          model[2].weight.detach()[None].repeat(2, 1, 1).requires_grad_()]
    bs = [model[0].bias.detach()[None, :, None].repeat(2, 1, 1).requires_grad_(),
          model[2].bias.detach()[None, :, None].repeat(2, 1, 1).requires_grad_()]
    values = engine.member_losses(engine.forward(Ws, bs, x.T, activation=activation), y, loss)
    out = model(x)
    if loss == "mse":
        want = 0.5 * F.mse_loss(out, F.one_hot(y, 4).to(D), reduction="sum") / len(y)
    else:
        want = F.cross_entropy(out, y)
    torch.testing.assert_close(values, want.detach().expand(2), rtol=0, atol=1e-13)
    got = torch.autograd.grad(values[1], Ws + bs)
    ref = torch.autograd.grad(want, [model[0].weight, model[2].weight, model[0].bias, model[2].bias])
    assert got[0][0].abs().max() == 0  # member 0's loss does not depend on member 1
    for a, b in zip(got, ref):
        torch.testing.assert_close(a[1].reshape(b.shape), b, rtol=0, atol=1e-13)


def test_sgd_step_moves_each_row_by_its_eta_and_frozen_rows_not_at_all():
    stack = members([0], 3, etas=[0.1, 0.2, 0.3])
    before = [t.clone() for t in stack.tensors]
    grads = [torch.ones_like(t) for t in stack.tensors]
    grads = [g.index_fill(0, torch.tensor([1]), float("nan")) for g in grads]  # row 1: a NaN gradient
    stack.sgd_step(grads, frozen=torch.tensor([False, True, False]))
    for b, a in zip(before, stack.tensors):
        torch.testing.assert_close(a[0], b[0] - 0.1, rtol=0, atol=1e-15)
        torch.testing.assert_close(a[2], b[2] - 0.3, rtol=0, atol=1e-15)
        assert torch.equal(a[1], b[1])


def test_keep_drops_members_and_the_rest_still_read_their_own_seed():
    seeds = [4, 6]
    stack = members(seeds, 3)
    stack.keep(torch.tensor([True, False, True, False, True, True]))
    assert stack.alive.tolist() == [0, 2, 4, 5] and stack.seed_of.tolist() == [0, 0, 1, 1]
    assert stack.groups == [(0, 0, 2), (1, 2, 4)]
    X, y = inputs(20, seed=5)
    Xs, Ys, Hs = epoch_batches(X, y, F.one_hot(y, 4).to(D), [epoch_orders(20, s) for s in seeds])
    loss, _ = stack.loss_and_grads(Xs, Ys, Hs)
    for k, seed in zip(range(4), [4, 4, 6, 6]):
        order = next(epoch_orders(20, seed))
        assert loss[k].item() == pytest.approx(autograd_member(seed, X[order], y[order])[0], abs=1e-13)


def test_evaluate_equals_the_ordinary_evaluation_of_each_member():
    x, y = inputs(60, seed=6)
    stack = members([7, 8], 1)
    loss, acc, auc = stack.evaluate(chunks(x, 25), y, 4)
    for k, seed in enumerate([7, 8]):
        want = evaluate(mlp(SIZES, seed, D), x, y, 4)
        np.testing.assert_allclose([loss[k], acc[k], auc[k]], want, rtol=0, atol=1e-12)
    empty = stack.evaluate(chunks(x, 25), y[:0], 4)
    assert all(np.isnan(a).all() for a in empty)
