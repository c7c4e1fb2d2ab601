"""Toy surfaces: closed-form gradients and Hessians equal torch.autograd's; minima are stationary."""
import numpy as np
import pytest
import torch

from lrcourse.toy import surfaces

TORCH_LOSSES = {
    "quadratic1d": lambda s, t: 0.5 * s.curvature * (t[0] - s.center) ** 2,
    "quadratic2d": lambda s, t: 0.5 * t @ torch.as_tensor(s.A) @ t,
    "rosenbrock": lambda s, t: (s.a - t[0]) ** 2 + s.b * (t[1] - t[0] ** 2) ** 2,
    "himmelblau": lambda s, t: (t[0] ** 2 + t[1] - 11) ** 2 + (t[0] + t[1] ** 2 - 7) ** 2,
    "beale": lambda s, t: sum((c - t[0] + t[0] * t[1] ** k) ** 2 for k, c in ((1, 1.5), (2, 2.25), (3, 2.625))),
    "saddle": lambda s, t: 0.5 * (s.a * t[0] ** 2 - s.b * t[1] ** 2),
    "rastrigin": lambda s, t: s.A * 2 + torch.sum(t**2 - s.A * torch.cos(2 * torch.pi * t)),
}


@pytest.mark.parametrize("name", sorted(surfaces.SURFACES))
def test_value_gradient_hessian_match_autograd(name):
    s = surfaces.surface(name)
    rng = np.random.default_rng(0)
    lo = np.atleast_2d(np.asarray(s.window))[:, 0]
    hi = np.atleast_2d(np.asarray(s.window))[:, 1]
    for _ in range(20):
        theta = rng.uniform(lo, hi)
        t = torch.tensor(theta, dtype=torch.float64, requires_grad=True)
        loss = TORCH_LOSSES[name](s, t)
        (g,) = torch.autograd.grad(loss, t)
        H = torch.autograd.functional.hessian(lambda u: TORCH_LOSSES[name](s, u), t.detach())
        np.testing.assert_allclose(s.value(theta), loss.item(), rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(s.grad(theta), g.numpy(), rtol=1e-10, atol=1e-10)
        np.testing.assert_allclose(s.hessian(theta), H.numpy(), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("name", sorted(surfaces.SURFACES))
def test_minima_are_stationary_and_vectorised(name):
    s = surfaces.surface(name)
    for m in s.minima:
        assert np.linalg.norm(s.grad(m)) < 1e-4
    batch = np.stack([s.start, *s.minima])
    assert s.value(batch).shape == (len(batch),)
    np.testing.assert_allclose(s.grad(batch)[0], s.grad(s.start))


def test_quadratic2d_eigenvalues_are_those_of_A():
    q = surfaces.Quadratic2D(lam_min=0.5, lam_max=20.0, angle=0.3)
    np.testing.assert_allclose(np.linalg.eigvalsh(q.A), [0.5, 20.0])


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match="Invalid eigenvalues"):
        surfaces.Quadratic2D(lam_min=2.0, lam_max=1.0)
    with pytest.raises(ValueError, match="Invalid curvature"):
        surfaces.Quadratic1D(curvature=-1.0)
    with pytest.raises(ValueError, match="Unknown surface"):
        surfaces.surface("banana")
