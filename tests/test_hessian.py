"""Hessian-vector products and the sharpness, against torch's own autograd.functional."""
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch.func import functional_call

from lrcourse.choosing.hessian import hvp, top_eigenvalue, track_sharpness

D = torch.float64  # every oracle comparison runs in float64


def small_mlp(sizes, activation, seed):
    layers = []
    with torch.random.fork_rng(devices=[]):  # leave the global RNG as it was
        torch.manual_seed(seed)
        for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
            if i:
                layers.append(activation())
            layers.append(torch.nn.Linear(a, b, dtype=D))
    return torch.nn.Sequential(*layers)


def as_function(model, X, loss):
    """L as a function of the parameter tensors, for torch.autograd.functional."""
    names = [name for name, _ in model.named_parameters()]

    def f(*tensors):
        return loss(functional_call(model, dict(zip(names, tensors)), (X,)))

    return f


def mse(Y):
    return lambda out: 0.5 * ((out - Y) ** 2).sum(1).mean()


def cross_entropy(y):
    return lambda out: F.cross_entropy(out, y)


def flat_hessian(model, X, loss):
    """The full n × n Hessian by torch.autograd.functional.hessian, assembled from its blocks."""
    params = tuple(p.detach() for p in model.parameters())
    blocks = torch.autograd.functional.hessian(as_function(model, X, loss), params)
    sizes = [p.numel() for p in params]
    return torch.cat([torch.cat([blocks[i][j].reshape(sizes[i], sizes[j]) for j in range(len(params))], 1)
                      for i in range(len(params))], 0)


def random_quadratic(eigenvalues, seed):
    g = torch.Generator().manual_seed(seed)
    Q, _ = torch.linalg.qr(torch.randn(len(eigenvalues), len(eigenvalues), generator=g, dtype=D))
    return Q @ torch.diag(torch.tensor(eigenvalues, dtype=D)) @ Q.T


# --------------------------------------------------------------------------------------------- hvp


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("activation,loss_kind", [(torch.nn.Tanh, "mse"), (torch.nn.ReLU, "ce"),
                                                  (torch.nn.Tanh, "ce")])
def test_hvp_matches_torch_autograd_functional_hvp(seed, activation, loss_kind):
    g = torch.Generator().manual_seed(100 + seed)
    model = small_mlp((5, 7, 6, 3), activation, seed)
    X = torch.randn(20, 5, generator=g, dtype=D)
    y = torch.randint(0, 3, (20,), generator=g)
    loss = mse(F.one_hot(y, 3).to(D)) if loss_kind == "mse" else cross_entropy(y)
    params = list(model.parameters())
    v = [torch.randn(p.shape, generator=g, dtype=D) for p in params]

    ours = hvp(lambda: loss(model(X)), params, v)

    f = as_function(model, X, loss)
    _, theirs = torch.autograd.functional.hvp(f, tuple(p.detach() for p in params), tuple(v))
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        assert a.shape == b.shape
        assert torch.max(torch.abs(a - b)).item() <= 1e-10


def test_hvp_of_a_quadratic_is_A_v():
    A = random_quadratic([4.0, 2.5, 1.0, -0.5, -3.0], seed=3)
    b = torch.arange(5.0, dtype=D)
    theta = torch.randn(5, generator=torch.Generator().manual_seed(4), dtype=D).requires_grad_()
    v = torch.randn(5, generator=torch.Generator().manual_seed(5), dtype=D)
    (hv,) = hvp(lambda: 0.5 * theta @ A @ theta + b @ theta, [theta], [v])
    assert torch.max(torch.abs(hv - A @ v)).item() <= 1e-12
    # the same against torch's oracle
    _, theirs = torch.autograd.functional.hvp(lambda t: 0.5 * t @ A @ t + b @ t, theta.detach(), v)
    assert torch.max(torch.abs(hv - theirs)).item() <= 1e-12


def test_hvp_accepts_a_module_and_a_flat_vector():
    g = torch.Generator().manual_seed(7)
    model = small_mlp((3, 4, 2), torch.nn.Tanh, 7)
    X, Y = torch.randn(8, 3, generator=g, dtype=D), torch.randn(8, 2, generator=g, dtype=D)
    n = sum(p.numel() for p in model.parameters())
    v = torch.randn(n, generator=g, dtype=D)
    loss_fn = lambda: 0.5 * ((model(X) - Y) ** 2).sum(1).mean()  # noqa: E731
    flat = hvp(loss_fn, model, v)
    params = list(model.parameters())
    shaped = [x.reshape(p.shape) for x, p in zip(torch.split(v, [p.numel() for p in params]), params)]
    pieces = hvp(loss_fn, params, shaped)
    assert flat.shape == (n,)
    assert torch.allclose(flat, torch.cat([p.reshape(-1) for p in pieces]), rtol=0, atol=1e-14)


def test_hvp_equals_full_hessian_times_v():
    g = torch.Generator().manual_seed(8)
    model = small_mlp((3, 4, 2), torch.nn.Tanh, 8)
    X, Y = torch.randn(10, 3, generator=g, dtype=D), torch.randn(10, 2, generator=g, dtype=D)
    loss = mse(Y)
    H = flat_hessian(model, X, loss)
    v = torch.randn(H.shape[0], generator=g, dtype=D)
    ours = hvp(lambda: loss(model(X)), model, v)
    assert torch.max(torch.abs(ours - H @ v)).item() <= 1e-10


def test_hvp_is_zero_for_a_linear_loss_and_for_unused_parameters():
    theta = torch.ones(3, dtype=D, requires_grad=True)
    unused = torch.ones(2, dtype=D, requires_grad=True)
    out = hvp(lambda: theta.sum() * 2.0, [theta, unused], [torch.ones(3, dtype=D), torch.ones(2, dtype=D)])
    assert all(torch.equal(o, torch.zeros_like(o)) for o in out)
    out = hvp(lambda: torch.tensor(1.0, dtype=D), [theta], [torch.ones(3, dtype=D)])  # constant L
    assert torch.equal(out[0], torch.zeros(3, dtype=D))


# ----------------------------------------------------------------------------- top eigenvalue


@pytest.mark.parametrize("eigenvalues", [
    [5.0, 3.0, 1.0, -2.0, -0.5],       # the top eigenvalue dominates
    [3.0, 1.0, 0.5, -10.0],             # a negative eigenvalue dominates: the shift is needed
    [-1.0, -2.0, -5.0],                 # all negative: the top algebraic is -1
    [2.0, 2.0 - 1e-1, 0.0, 0.0],         # a small gap
])
def test_top_eigenvalue_of_a_quadratic_is_max_eig_A(eigenvalues):
    A = random_quadratic(eigenvalues, seed=len(eigenvalues))
    theta = torch.zeros(len(eigenvalues), dtype=D, requires_grad=True)
    est = top_eigenvalue(lambda: 0.5 * theta @ A @ theta, [theta], iters=5000, tol=1e-10, seed=1)
    expected = torch.linalg.eigvalsh(A).max().item()
    assert est.converged
    assert abs(est.eigenvalue - expected) <= 1e-9 * max(1.0, abs(expected))
    assert isinstance(est.iterations, int) and 1 <= est.iterations <= 10000
    (v,) = est.eigenvector
    assert abs(v.norm().item() - 1) < 1e-12
    assert torch.allclose(A @ v, expected * v, atol=1e-8)


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_top_eigenvalue_matches_eigvalsh_of_the_full_hessian(seed):
    g = torch.Generator().manual_seed(200 + seed)
    model = small_mlp((3, 5, 2), torch.nn.Tanh, seed)
    X = torch.randn(16, 3, generator=g, dtype=D)
    y = torch.randint(0, 2, (16,), generator=g)
    loss = cross_entropy(y) if seed % 2 else mse(F.one_hot(y, 2).to(D))
    H = flat_hessian(model, X, loss)
    expected = torch.linalg.eigvalsh(H).max().item()
    est = top_eigenvalue(lambda: loss(model(X)), model, iters=20000, tol=1e-9, seed=seed)
    assert est.converged
    assert abs(est.eigenvalue - expected) <= 1e-7 * max(1.0, abs(expected))


def test_top_eigenvalue_is_deterministic_and_warm_starts():
    A = random_quadratic([4.0, 3.5, 1.0], seed=9)
    theta = torch.zeros(3, dtype=D, requires_grad=True)
    loss_fn = lambda: 0.5 * theta @ A @ theta  # noqa: E731
    a = top_eigenvalue(loss_fn, [theta], iters=1000, tol=1e-8, seed=5)
    b = top_eigenvalue(loss_fn, [theta], iters=1000, tol=1e-8, seed=5)
    assert a.converged
    assert a.eigenvalue == b.eigenvalue and a.iterations == b.iterations
    warm = top_eigenvalue(loss_fn, [theta], tol=1e-8, v0=a.eigenvector)
    assert warm.iterations <= 2 < a.iterations


def test_members_give_each_block_its_own_top_eigenvalue():
    spectra = [[5.0, 1.0, -1.0], [0.5, 0.2, -4.0], [-0.3, -1.0, -2.0], [2.0, 1.5, 0.1]]
    As = torch.stack([random_quadratic(s, seed=i) for i, s in enumerate(spectra)])
    theta = torch.zeros(len(spectra), 3, dtype=D, requires_grad=True)
    est = top_eigenvalue(lambda: 0.5 * torch.einsum("ki,kij,kj->k", theta, As, theta), [theta],
                         members=len(spectra), iters=5000, tol=1e-10)
    expected = torch.linalg.eigvalsh(As).max(1).values.numpy()
    assert est.eigenvalue.shape == (4,) and est.converged.all()
    assert np.max(np.abs(est.eigenvalue - expected)) <= 1e-9
    for k, spectrum in enumerate(spectra):  # each block alone gives the same answer
        single = torch.zeros(3, dtype=D, requires_grad=True)
        alone = top_eigenvalue(lambda: 0.5 * single @ As[k] @ single, [single], iters=5000, tol=1e-10)
        assert abs(alone.eigenvalue - est.eigenvalue[k]) <= 1e-9


# ------------------------------------------------------------------------ sharpness along GD


def reference_gd(sizes, seed, X, y, eta, steps):
    """Plain single-model GD with the documented initialisation, MSE on one-hot targets."""
    g = torch.Generator().manual_seed(seed)
    theta = []
    for d_in, d_out in zip(sizes[:-1], sizes[1:]):
        bound = 1 / math.sqrt(d_in)
        theta.append((2 * torch.rand(d_out, d_in, generator=g, dtype=D) - 1) * bound)
        theta.append((2 * torch.rand(d_out, 1, generator=g, dtype=D) - 1) * bound)
    theta = [t.requires_grad_() for t in theta]
    target = F.one_hot(y, sizes[-1]).to(D).T

    def loss():
        a = X.T
        for i in range(0, len(theta), 2):
            a = theta[i] @ a + theta[i + 1]
            if i < len(theta) - 2:
                a = torch.tanh(a)
        return 0.5 * ((a - target) ** 2).sum() / X.shape[0]

    losses = []
    for t in range(steps + 1):
        L = loss()
        losses.append(L.item())
        if t < steps:
            grads = torch.autograd.grad(L, theta)
            with torch.no_grad():
                for p, gr in zip(theta, grads):
                    p -= eta * gr
    return np.array(losses), theta


def test_track_sharpness_matches_plain_gd_and_the_full_hessian():
    g = torch.Generator().manual_seed(11)
    sizes, steps = (4, 5, 3), 30
    X, y = torch.randn(25, 4, generator=g, dtype=D), torch.randint(0, 3, (25,), generator=g)
    etas = [0.05, 0.4]
    run = track_sharpness(etas, X, y, sizes=sizes, steps=steps, every=10, seed=2,
                          dtype=torch.float64, power_iters=200, tol=1e-9)
    assert list(run.sharpness_steps) == [0, 10, 20, 30]
    assert (run.diverged_at == -1).all()
    for k, eta in enumerate(etas):
        losses, theta = reference_gd(sizes, 2, X, y, eta, steps)
        assert np.max(np.abs(run.loss[k] - losses)) <= 1e-12
        # the final sharpness against eigvalsh of the full Hessian at the reference θ_T
        shapes = [t.shape for t in theta]
        target = F.one_hot(y, 3).to(D).T

        def f(x):
            ps = [p.reshape(s) for p, s in zip(torch.split(x, [math.prod(s) for s in shapes]), shapes)]
            a = torch.tanh(ps[0] @ X.T + ps[1])
            return 0.5 * ((ps[2] @ a + ps[3] - target) ** 2).sum() / X.shape[0]

        H = torch.autograd.functional.hessian(f, torch.cat([t.detach().reshape(-1) for t in theta]))
        expected = torch.linalg.eigvalsh(H).max().item()
        assert abs(run.final_sharpness[k] - expected) <= 1e-6 * expected
        assert abs(run.sharpness[k, -1] - expected) <= 1e-6 * expected
    # every member starts from the same θ_0
    assert run.loss[0, 0] == run.loss[1, 0] and run.sharpness[0, 0] == pytest.approx(run.sharpness[1, 0], rel=1e-9)


def test_a_diverging_member_is_a_result_and_leaves_the_others_alone():
    g = torch.Generator().manual_seed(12)
    X, y = torch.randn(25, 4, generator=g, dtype=D), torch.randint(0, 3, (25,), generator=g)
    kw = dict(sizes=(4, 5, 3), steps=40, every=10, seed=0, dtype=torch.float64)
    both = track_sharpness([0.1, 500.0], X, y, **kw)
    alone = track_sharpness([0.1], X, y, **kw)
    assert both.diverged_at[0] == -1 and both.diverged_at[1] >= 0
    d = both.diverged_at[1]
    assert np.isnan(both.loss[1, d + 1:]).all() and np.isnan(both.final_sharpness[1])
    assert np.max(np.abs(both.loss[0] - alone.loss[0])) <= 1e-12
    assert np.max(np.abs(both.sharpness[0] - alone.sharpness[0])) <= 1e-8 * np.max(alone.sharpness[0])


# ------------------------------------------------------------------------------- bad arguments


def test_invalid_arguments_raise_value_error():
    theta = torch.zeros(3, dtype=D, requires_grad=True)
    loss_fn = lambda: (theta ** 2).sum()  # noqa: E731
    with pytest.raises(ValueError, match="Invalid iters"):
        top_eigenvalue(loss_fn, [theta], iters=0)
    with pytest.raises(ValueError, match="Invalid tolerance"):
        top_eigenvalue(loss_fn, [theta], tol=-1.0)
    with pytest.raises(ValueError, match="Invalid seed"):
        top_eigenvalue(loss_fn, [theta], seed=-1)
    with pytest.raises(ValueError, match="Invalid members"):
        top_eigenvalue(loss_fn, [theta], members=2)
    with pytest.raises(ValueError, match="Invalid start vector"):
        top_eigenvalue(loss_fn, [theta], v0=[torch.zeros(3)])
    with pytest.raises(ValueError, match="Invalid loss_fn"):
        hvp(3.0, [theta], [torch.ones(3)])
    with pytest.raises(ValueError, match="Invalid params"):
        hvp(loss_fn, [], [])
    with pytest.raises(ValueError, match="Invalid parameter"):
        hvp(loss_fn, [torch.zeros(3)], [torch.ones(3)])
    with pytest.raises(ValueError, match="Invalid direction"):
        hvp(loss_fn, [theta], [torch.ones(4)])
    with pytest.raises(ValueError, match="Invalid direction"):
        hvp(loss_fn, [theta, torch.zeros(2, requires_grad=True)], torch.ones(4))
    with pytest.raises(ValueError, match="Invalid loss"):
        hvp(lambda: theta ** 2, [theta], [torch.ones(3)])
    X, y = torch.zeros(5, 4), torch.zeros(5, dtype=torch.int64)
    with pytest.raises(ValueError, match="Invalid learning rate: -1.0"):
        track_sharpness([-1.0], X, y, sizes=(4, 3, 2), steps=2)
    with pytest.raises(ValueError, match="Invalid activation"):
        track_sharpness([0.1], X, y, sizes=(4, 3, 2), steps=2, activation="gelu")
    with pytest.raises(ValueError, match="Invalid loss"):
        track_sharpness([0.1], X, y, sizes=(4, 3, 2), steps=2, loss="hinge")
    with pytest.raises(ValueError, match="Invalid final_iters"):
        track_sharpness([0.1], X, y, sizes=(4, 3, 2), steps=2, final_iters=0)
    with pytest.raises(ValueError, match="Invalid steps"):
        track_sharpness([0.1], X, y, sizes=(4, 3, 2), steps=0)
    with pytest.raises(ValueError, match="Invalid X"):
        track_sharpness([0.1], X, y, sizes=(3, 3, 2), steps=2)
    with pytest.raises(ValueError, match="Invalid y"):
        track_sharpness([0.1], X, y + 5, sizes=(4, 3, 2), steps=2)
