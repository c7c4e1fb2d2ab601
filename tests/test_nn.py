"""lrcourse.scratch.nn: the hand-written backward pass against torch.autograd, torch.nn and torch.optim."""
import random

import pytest
import torch
import torch.nn.functional as F
from sklearn.datasets import make_blobs
from torch import nn

from lrcourse.scratch.nn import MLP, SoftmaxCrossEntropy, sgd_step

f64 = torch.float64


def torch_grads(seq, x, y):
    """Loss and ∇L of a torch model by autograd."""
    seq.zero_grad()
    loss = F.cross_entropy(seq(x), y)
    loss.backward()
    return loss.detach(), [p.grad.clone() for p in seq.parameters()]


def assert_rel_close(ours, theirs, tol=1e-10):
    """‖ours − theirs‖ ≤ tol·‖theirs‖ (so an exactly-zero reference must be matched exactly)."""
    assert ours.shape == theirs.shape and ours.dtype == theirs.dtype
    assert (ours - theirs).norm() <= tol * theirs.norm(), (ours, theirs)


def blobs_batch(n=500, seed=0, dtype=f64):
    """The seed experiment's data: make_blobs(3 centres, 2 features, σ = 2), standardised."""
    X, y = make_blobs(n_samples=2 * n, centers=3, n_features=2, cluster_std=2, random_state=seed)
    X = torch.tensor(X[:n], dtype=dtype)
    X = (X - X.mean(0)) / X.std(0)
    return X, torch.tensor(y[:n], dtype=torch.int64)


def random_case(case):
    """Depth 1–3, widths 1–20, batch 1–16, relu or tanh, inputs on scales 0.1–10."""
    rng = random.Random(case)
    depth = rng.randint(1, 3)
    sizes = [rng.randint(1, 20) for _ in range(depth)] + [rng.randint(2, 20)]
    batch = rng.randint(1, 16)
    activation = rng.choice(["relu", "tanh"])
    gen = torch.Generator().manual_seed(case)
    x = torch.randn(batch, sizes[0], generator=gen, dtype=f64) * rng.choice([0.1, 1.0, 10.0])
    y = torch.randint(sizes[-1], (batch,), generator=gen)
    return sizes, activation, x, y


@pytest.mark.parametrize("case", range(40))
def test_mlp_gradients_equal_torch_autograd(case):
    sizes, activation, x, y = random_case(case)
    model = MLP(sizes, activation, seed=case, dtype=f64)
    twin = model.to_torch()
    loss = model.loss(x, y)
    grads = model.backward()
    t_loss, t_grads = torch_grads(twin, x, y)
    assert_rel_close(loss, t_loss)
    assert len(grads) == len(t_grads) == 2 * (len(sizes) - 1)
    for g, tg in zip(grads, t_grads):
        assert_rel_close(g, tg)
    assert all(g is h for g, h in zip(grads, model.grads()))


@pytest.mark.parametrize("batch", [1, 50, 500])
def test_seed_network_on_blobs_equals_torch_autograd(batch):
    X, y = blobs_batch()
    model = MLP([2, 50, 3], seed=1, dtype=f64)
    twin = model.to_torch()
    loss = model.loss(X[:batch], y[:batch])
    grads = model.backward()
    t_loss, t_grads = torch_grads(twin, X[:batch], y[:batch])
    assert_rel_close(loss, t_loss)
    for g, tg in zip(grads, t_grads):
        assert_rel_close(g, tg)


@pytest.mark.parametrize("scale", [1.0, 1e3])
@pytest.mark.parametrize("dtype", [torch.float32, f64])
def test_loss_equals_torch_cross_entropy(scale, dtype):
    """Also for logits ~1000, where a naive softmax overflows: the log-softmax is stable."""
    gen = torch.Generator().manual_seed(3)
    z = torch.randn(16, 10, generator=gen, dtype=dtype) * scale
    y = torch.randint(10, (16,), generator=gen)
    criterion = SoftmaxCrossEntropy()
    ours = criterion.forward(z, y)
    z_t = z.clone().requires_grad_()
    theirs = F.cross_entropy(z_t, y)
    theirs.backward()
    assert torch.isfinite(ours)
    tol = 1e-5 if dtype == torch.float32 else 1e-12
    torch.testing.assert_close(ours, theirs.detach(), rtol=tol, atol=0)
    torch.testing.assert_close(criterion.backward(), z_t.grad, rtol=tol, atol=tol * 1e-3)


@pytest.mark.parametrize("activation", ["relu", "tanh"])
@pytest.mark.parametrize("dtype", [torch.float32, f64])
def test_forward_equals_the_copied_sequential(activation, dtype):
    X, _ = blobs_batch(dtype=dtype)
    model = MLP([2, 50, 20, 3], activation, seed=2, dtype=dtype)
    seq = model.to_torch()
    assert [type(m) for m in seq] == [nn.Linear, type(seq[1]), nn.Linear, type(seq[1]), nn.Linear]
    assert isinstance(seq[1], nn.ReLU if activation == "relu" else nn.Tanh)
    tol = 1e-5 if dtype == torch.float32 else 1e-12
    with torch.no_grad():
        torch.testing.assert_close(model.forward(X), seq(X), rtol=tol, atol=tol)
        back = MLP.from_torch(seq)       # and back again: same θ, same outputs
        assert back.sizes == model.sizes and back.activation == activation
        assert all(torch.equal(p, q) for p, q in zip(back.parameters(), model.parameters()))
        torch.testing.assert_close(back.forward(X), seq(X), rtol=tol, atol=tol)


def test_building_and_copying_leave_torchs_global_random_state_alone():
    before = torch.random.get_rng_state()
    model = MLP([2, 50, 3], seed=0)
    MLP.from_torch(model.to_torch())
    assert torch.equal(torch.random.get_rng_state(), before)


@pytest.mark.parametrize("dtype", [torch.float32, f64])
@pytest.mark.parametrize("sizes", [[2, 50, 3], [7, 1, 20, 4], [64, 10]])
def test_init_is_torch_nn_linears_for_the_same_seed(sizes, dtype):
    """MLP(sizes, seed=s) holds exactly the numbers torch.manual_seed(s) + nn.Sequential draws."""
    with torch.random.fork_rng():
        torch.manual_seed(11)
        layers = []
        for i, (d_in, d_out) in enumerate(zip(sizes[:-1], sizes[1:])):
            layers += [nn.ReLU()] if i else []
            layers.append(nn.Linear(d_in, d_out, dtype=dtype))
        seq = nn.Sequential(*layers)
    model = MLP(sizes, seed=11, dtype=dtype)
    assert all(torch.equal(p, q) for p, q in zip(model.parameters(), seq.parameters()))
    assert MLP(sizes, seed=12, dtype=dtype).parameters()[0].ne(model.parameters()[0]).any()


@pytest.mark.parametrize("eta", [0.05, 1.0, 10.0])
def test_sgd_steps_equal_torch_optim_sgd(eta):
    """Five minibatch steps of θ ← θ − η∇L, ours vs torch.optim.SGD on the twin model
    (η = 10 is far too large: the loss jumps and the weights grow, identically in both)."""
    X, y = blobs_batch()
    model = MLP([2, 50, 3], seed=4, dtype=f64)
    twin = model.to_torch()
    opt = torch.optim.SGD(twin.parameters(), lr=eta)
    for t in range(5):
        xb, yb = X[50 * t: 50 * (t + 1)], y[50 * t: 50 * (t + 1)]
        loss = model.loss(xb, yb)
        params = sgd_step(model.parameters(), model.backward(), eta)
        opt.zero_grad()
        t_loss = F.cross_entropy(twin(xb), yb)
        t_loss.backward()
        opt.step()
        assert_rel_close(loss, t_loss.detach())
        assert all(p is q for p, q in zip(params, model.parameters()))  # updated in place
        for p, q in zip(model.parameters(), twin.parameters()):
            assert_rel_close(p, q.detach())


def test_sgd_step_with_zero_learning_rate_leaves_theta_unchanged():
    theta = [torch.ones(3), torch.zeros(2, 2)]
    before = [p.clone() for p in theta]
    sgd_step(theta, [torch.ones(3), torch.ones(2, 2)], 0.0)
    assert all(torch.equal(p, q) for p, q in zip(theta, before))


# ---------------------------------------------------------------------------------------------
# invalid input


@pytest.mark.parametrize("eta", [-1.0, float("nan"), float("inf"), "fast"])
def test_sgd_step_rejects_an_invalid_learning_rate(eta):
    with pytest.raises(ValueError, match="Invalid learning rate: "):
        sgd_step([torch.ones(2)], [torch.ones(2)], eta)


def test_sgd_step_rejects_mismatched_parameters_and_gradients():
    with pytest.raises(ValueError, match="2 parameters but 1 gradients"):
        sgd_step([torch.ones(2), torch.ones(3)], [torch.ones(2)], 0.1)
    with pytest.raises(ValueError, match=r"shape \(2,\) but its gradient has shape \(3,\)"):
        sgd_step([torch.ones(2)], [torch.ones(3)], 0.1)


@pytest.mark.parametrize("x_shape, y_shape, match", [
    ((4, 3), (4,), r"Expected x of shape \(B, 2\)"),
    ((4,), (4,), r"Expected x of shape \(B, 2\)"),
    ((0, 2), (0,), r"Expected x of shape \(B, 2\) with B ≥ 1"),
    ((4, 2), (5,), r"Expected y of shape \(4,\)"),
    ((4, 2), (4, 1), r"Expected y of shape \(4,\)"),
])
def test_mismatched_shapes_raise_value_error(x_shape, y_shape, match):
    model = MLP([2, 5, 3], dtype=f64)
    with pytest.raises(ValueError, match=match):
        model.loss(torch.zeros(x_shape, dtype=f64), torch.zeros(y_shape, dtype=torch.int64))


def test_bad_labels_and_dtypes_raise_value_error():
    model = MLP([2, 5, 3], dtype=f64)
    x = torch.zeros(4, 2, dtype=f64)
    with pytest.raises(ValueError, match="int64"):
        model.loss(x, torch.zeros(4))
    with pytest.raises(ValueError, match=r"class labels in \[0, 3\)"):
        model.loss(x, torch.tensor([0, 1, 2, 3]))
    with pytest.raises(ValueError, match="dtype torch.float64"):
        model.forward(torch.zeros(4, 2))


@pytest.mark.parametrize("kwargs, match", [
    (dict(sizes=[2]), "Invalid sizes"),
    (dict(sizes=[2, 0, 3]), "Invalid sizes"),
    (dict(sizes=[2, 3], activation="sigmoid"), "Invalid activation"),
    (dict(sizes=[2, 3], seed=-1), "Invalid seed"),
    (dict(sizes=[2, 3], dtype=torch.int64), "Invalid dtype"),
])
def test_invalid_construction_raises_value_error(kwargs, match):
    with pytest.raises(ValueError, match=match):
        MLP(**kwargs)


def test_from_torch_rejects_other_architectures():
    with pytest.raises(ValueError, match="from_torch needs"):
        MLP.from_torch(nn.Sequential(nn.Linear(2, 3), nn.Sigmoid(), nn.Linear(3, 2)))
    with pytest.raises(ValueError, match="from_torch needs"):
        MLP.from_torch(nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 2), nn.Tanh(),
                                     nn.Linear(2, 2)))
    with pytest.raises(ValueError, match="do not chain"):
        MLP.from_torch(nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(4, 2)))


def test_backward_needs_a_loss_first():
    model = MLP([2, 3])
    with pytest.raises(RuntimeError, match="before backward"):
        model.backward()
    with pytest.raises(RuntimeError, match="no gradients yet"):
        model.grads()
    x, y = torch.zeros(1, 2), torch.zeros(1, dtype=torch.int64)
    model.loss(x, y)
    model.forward(x)                  # a forward after the loss invalidates its caches
    with pytest.raises(RuntimeError, match="before backward"):
        model.backward()
