"""lrcourse.scratch.weights: traced gradient descent against torch.optim.SGD, dead ReLUs counted."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from sklearn.datasets import make_blobs

from lrcourse.scratch.nn import MLP
from lrcourse.scratch.weights import WeightTrace, dead_relu_fraction, trace_gd

f64 = torch.float64


def blobs_batch(n=200, seed=0, dtype=f64):
    X, y = make_blobs(n_samples=n, centers=3, n_features=2, cluster_std=2, random_state=seed)
    X = torch.tensor(X, dtype=dtype)
    return (X - X.mean(0)) / X.std(0), torch.tensor(y, dtype=torch.int64)


def torch_gd(eta, X, y, sizes, steps, seed):
    """Full-batch torch.optim.SGD from the same θ_0: per step loss, ‖θ‖, max|θ|, dead fraction."""
    model = MLP(sizes, seed=seed, dtype=X.dtype).to_torch()
    opt = torch.optim.SGD(model.parameters(), lr=eta)
    rows = []
    for t in range(steps + 1):
        opt.zero_grad()
        hidden = []
        a = X
        for m in model:
            a = m(a)
            if isinstance(m, torch.nn.Linear):
                hidden.append(a)
        loss = F.cross_entropy(a, y)
        theta = torch.cat([p.detach().reshape(-1) for p in model.parameters()])
        pre = hidden[:-1]  # pre-activations of the ReLU layers
        dead = sum(int((~(z > 0).any(0)).sum()) for z in pre) / sum(z.shape[1] for z in pre)
        rows.append((float(loss.detach()), float(theta.norm()), float(theta.abs().max()), dead))
        if t < steps:
            loss.backward()
            opt.step()
    return np.array(rows)


@pytest.mark.parametrize("eta,sizes", [(0.05, (2, 50, 3)), (1.0, (2, 50, 3)), (0.5, (2, 8, 6, 3))])
def test_trace_equals_torch_optim_sgd_full_batch(eta, sizes):
    X, y = blobs_batch()
    (trace,) = trace_gd([eta], X, y, sizes=sizes, steps=60, seed=3, dtype=f64)
    ref = torch_gd(eta, X, y, sizes, 60, seed=3)
    assert trace.diverged_at is None and trace.eta == eta
    for i, ours in enumerate((trace.loss, trace.norm, trace.max_abs)):
        np.testing.assert_allclose(ours, ref[:, i], rtol=1e-10)
    np.testing.assert_array_equal(trace.dead, ref[:, 3])


def test_dead_relu_fraction_counts_units_silent_on_every_row():
    X, _ = blobs_batch()
    model = MLP([2, 10, 3], seed=0, dtype=f64)
    first = model.linears[0]
    first.W.zero_()
    first.b.copy_(torch.tensor([-1.0] * 3 + [1.0] * 7, dtype=f64))  # z = b for every row
    assert dead_relu_fraction(model, X) == pytest.approx(0.3)
    first.b[0] = 0.0  # z = 0 on every row: max(0, 0) = 0, still dead
    assert dead_relu_fraction(model, X) == pytest.approx(0.3)
    first.W[1, 0] = 1.0  # unit 1 now sees x₁ + (−1) > 0 on some rows: alive
    assert (X[:, 0] > 1).any()
    assert dead_relu_fraction(model, X) == pytest.approx(0.2)


def test_dead_relu_fraction_is_zero_without_relus():
    X, _ = blobs_batch()
    assert dead_relu_fraction(MLP([2, 3], dtype=f64), X) == 0.0
    assert dead_relu_fraction(MLP([2, 5, 3], activation="tanh", dtype=f64), X) == 0.0


def test_dead_units_stay_dead_under_full_batch_gradient_descent():
    """A unit with z ≤ 0 on every row gets no gradient, so its share can only grow."""
    X, y = blobs_batch()
    traces = trace_gd([3.0, 10.0, 30.0], X, y, steps=100, dtype=f64)
    grew = False
    for tr in traces:
        dead = tr.dead[: tr.last + 1]
        dead = dead[np.isfinite(dead)]
        assert np.all(np.diff(dead) >= 0)
        grew |= dead[-1] > dead[0]
    assert grew  # the check is not vacuous: some large η did kill units


def test_a_diverging_run_is_a_result():
    X, y = blobs_batch(dtype=torch.float32)
    small, huge = trace_gd([0.1, 1e4], X, y, steps=200, dtype=torch.float32)
    assert isinstance(huge, WeightTrace) and huge.diverged
    k = huge.diverged_at
    assert 0 < k < 200 and huge.last == k
    assert not (np.isfinite(huge.loss[k]) and np.isfinite(huge.norm[k]))
    assert np.isnan(huge.loss[k + 1:]).all() and np.isnan(huge.norm[k + 1:]).all()
    assert np.isfinite(huge.loss[:k]).all()
    assert not small.diverged and np.isfinite(small.loss).all() and small.last == 200


def test_runs_are_deterministic_and_share_theta_0():
    X, y = blobs_batch(dtype=torch.float32)
    a = trace_gd([0.1, 2.0], X, y, steps=20)
    b = trace_gd([0.1, 2.0], X, y, steps=20)
    for ta, tb in zip(a, b):
        np.testing.assert_array_equal(ta.loss, tb.loss)
        np.testing.assert_array_equal(ta.norm, tb.norm)
    assert a[0].norm[0] == a[1].norm[0] and a[0].loss[0] == a[1].loss[0]


@pytest.mark.parametrize("etas,match", [([-1.0], "Invalid learning rate: -1.0"),
                                        ([float("nan")], "Invalid learning rate: nan"),
                                        ([], "Invalid learning rates")])
def test_invalid_learning_rates_raise(etas, match):
    X, y = blobs_batch()
    with pytest.raises(ValueError, match=match):
        trace_gd(etas, X, y, steps=3)


@pytest.mark.parametrize("steps", [0, -2, 1.5, True])
def test_invalid_steps_raise(steps):
    X, y = blobs_batch()
    with pytest.raises(ValueError, match="Invalid number of steps"):
        trace_gd([0.1], X, y, steps=steps)


def test_dead_relu_fraction_needs_an_mlp():
    X, _ = blobs_batch()
    with pytest.raises(ValueError, match="Expected an lrcourse.scratch.nn.MLP"):
        dead_relu_fraction(MLP([2, 4, 3], dtype=f64).to_torch(), X)


def test_init_starts_from_a_copy_cast_to_dtype():
    X, y = blobs_batch()
    start32 = MLP([2, 6, 3], seed=5, dtype=torch.float32)
    before = [p.clone() for p in start32.parameters()]
    (trace,) = trace_gd([0.3], X, y, steps=5, dtype=f64, init=start32)
    assert all(torch.equal(a, b) for a, b in zip(before, start32.parameters()))  # untouched
    cast = MLP.from_torch(start32.to_torch().double())
    assert cast.dtype == f64
    assert trace.loss[0] == float(cast.loss(X, y))
    theta = torch.cat([p.reshape(-1) for p in cast.parameters()])
    assert trace.norm[0] == float(theta.norm()) and trace.max_abs[0] == float(theta.abs().max())
    # and the float64 run from the float32 start follows the float32 run closely for a stable η
    (trace32,) = trace_gd([0.3], X.float(), y, steps=5, dtype=torch.float32, init=start32)
    np.testing.assert_allclose(trace.loss, trace32.loss, rtol=1e-5)


def test_init_must_be_an_mlp():
    X, y = blobs_batch()
    with pytest.raises(ValueError, match="Expected init to be an lrcourse.scratch.nn.MLP"):
        trace_gd([0.1], X, y, steps=2, init=MLP([2, 3]).to_torch())
