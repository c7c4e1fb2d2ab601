"""Gradient noise: per-example gradients against autograd, and E‖g_B − G‖² against its formula."""
import numpy as np
import pytest
import torch

from lrcourse.choosing import noise
from lrcourse.training.models import mlp


@pytest.fixture
def problem():
    gen = torch.Generator().manual_seed(0)
    X = torch.randn(60, 4, generator=gen, dtype=torch.float64)
    y = torch.randint(0, 3, (60,), generator=gen)
    return mlp((4, 8, 3), seed=1, dtype=torch.float64), X, y


def test_per_example_grads_are_autograd_gradients_of_single_examples(problem):
    model, X, y = problem
    g = noise.per_example_grads(model, X, y, chunk=7)  # chunks that do not divide n
    n_params = sum(p.numel() for p in model.parameters())
    assert g.shape == (60, n_params)
    for i in (0, 13, 59):
        torch.testing.assert_close(g[i], noise.flat_grad(model, X[i : i + 1], y[i : i + 1]), rtol=1e-12, atol=1e-12)


def test_mean_of_per_example_grads_is_the_batch_gradient(problem):
    model, X, y = problem
    g = noise.per_example_grads(model, X, y)
    torch.testing.assert_close(g.mean(0), noise.flat_grad(model, X, y), rtol=1e-12, atol=1e-12)
    batch = torch.tensor([3, 7, 11, 40, 41])
    torch.testing.assert_close(g[batch].mean(0), noise.flat_grad(model, X[batch], y[batch]), rtol=1e-12, atol=1e-12)


def test_measured_variance_matches_the_sampling_formula(problem):
    model, X, y = problem
    r = noise.gradient_noise(model, X, y, [1, 4, 15, 30, 60], n_batches=2000, seed=3)
    g = noise.per_example_grads(model, X, y)
    G = g.mean(0)
    trace = float(((g - G) ** 2).sum(1).mean())
    assert r.trace_sigma == pytest.approx(trace, rel=1e-12)
    assert r.grad_norm2 == pytest.approx(float(G @ G), rel=1e-12)
    np.testing.assert_allclose(r.predicted, trace / r.batch_sizes * (60 - r.batch_sizes) / 59, rtol=1e-12)
    # the Monte Carlo mean lands within 4 standard errors of the exact expectation
    for b, v, se, p in zip(r.batch_sizes[:-1], r.variance[:-1], r.stderr[:-1], r.predicted[:-1]):
        assert abs(v - p) < 4 * se, (b, v, p, se)
    assert r.variance[-1] < 1e-20 and r.predicted[-1] == 0.0  # the full batch has no noise
    # and so it falls about as 1/b while b ≪ n
    slope = np.polyfit(np.log(r.batch_sizes[:3]), np.log(r.variance[:3]), 1)[0]
    assert -1.15 < slope < -0.95


def test_noise_scale_is_trace_over_squared_gradient_norm(problem):
    model, X, y = problem
    per_example = [noise.flat_grad(model, X[i : i + 1], y[i : i + 1]) for i in range(len(y))]
    g = torch.stack(per_example)
    G = noise.flat_grad(model, X, y)
    expected = float(((g - G) ** 2).sum(1).mean() / (G @ G))
    assert noise.noise_scale(model, X, y) == pytest.approx(expected, rel=1e-10)
    r = noise.gradient_noise(model, X, y, [5], n_batches=2)
    assert r.noise_scale == pytest.approx(expected, rel=1e-10)


def test_seeded_and_leaves_the_model_alone(problem):
    model, X, y = problem
    before = [p.detach().clone() for p in model.parameters()]
    a = noise.gradient_noise(model, X, y, [2, 10], n_batches=50, seed=7)
    b = noise.gradient_noise(model, X, y, [2, 10], n_batches=50, seed=7)
    c = noise.gradient_noise(model, X, y, [2, 10], n_batches=50, seed=8)
    np.testing.assert_array_equal(a.variance, b.variance)
    assert not np.array_equal(a.variance, c.variance)
    for p, q in zip(model.parameters(), before):
        assert torch.equal(p, q) and p.grad is None
    assert list(a.to_frame().columns) == ["batch_size", "variance", "stderr", "predicted"]


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(batch_sizes=[0]), "Invalid batch size: 0"),
        (dict(batch_sizes=[61]), "Invalid batch size: 61"),
        (dict(batch_sizes=[2.5]), "Invalid batch size: 2.5"),
        (dict(batch_sizes=[]), "Invalid batch sizes"),
        (dict(batch_sizes=[4], n_batches=1), "Invalid n_batches: 1"),
        (dict(batch_sizes=[4], seed=-1), "Invalid seed: -1"),
    ],
)
def test_invalid_arguments(problem, kwargs, message):
    model, X, y = problem
    with pytest.raises(ValueError, match=message):
        noise.gradient_noise(model, X, y, **kwargs)


def test_invalid_data(problem):
    model, X, y = problem
    with pytest.raises(ValueError, match="Invalid data"):
        noise.per_example_grads(model, X, y[:-1])
    with pytest.raises(ValueError, match="Invalid chunk"):
        noise.per_example_grads(model, X, y, chunk=0)
