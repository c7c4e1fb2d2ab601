"""Step sizes the algorithm picks: Armijo, Polyak and clipping, in torch and on toy surfaces."""
import numpy as np
import pytest
import torch

from lrcourse.optim.step_size import SGDArmijo, SGDClip, SGDPolyak
from lrcourse.toy import line_search, surfaces


def _model_and_closure(seed=0):
    torch.manual_seed(seed)
    X, y = torch.randn(64, 5, dtype=torch.float64), torch.randn(64, dtype=torch.float64)
    w = torch.zeros(5, dtype=torch.float64, requires_grad=True)

    def loss_at():
        return torch.mean((X @ w - y) ** 2) / 2

    def closure():
        w.grad = None
        loss = loss_at()
        loss.backward()
        return loss

    return w, loss_at, closure


@pytest.mark.parametrize("lr", [100.0, 1.0, 0.01])
def test_armijo_accepts_only_steps_with_sufficient_decrease(lr):
    w, loss_at, closure = _model_and_closure()
    opt = SGDArmijo([w], lr=lr, c=0.3)
    for _ in range(20):
        before = float(closure().detach())
        g = w.grad.detach().clone()
        w0 = w.detach().clone()
        opt.step(closure)
        eta = opt.state["search"]["last_lr"]
        with torch.no_grad():
            after = float(loss_at())
            assert after <= before - 0.3 * eta * float(g @ g) + 1e-15
            assert eta <= lr
            if 0 < eta < lr:  # the trial before it, twice as long, failed the condition
                w.copy_(w0 - 2 * eta * g)
                assert float(loss_at()) > before - 0.3 * 2 * eta * float(g @ g)
                w.copy_(w0 - eta * g)


def test_armijo_on_a_surface_satisfies_the_condition_each_step():
    s = surfaces.Rosenbrock()
    run = line_search.armijo(s, eta0=1.0, steps=200, c=1e-4)
    path, etas = run.trajectory.path, run.step_sizes
    for t in range(len(etas)):
        g = s.grad(path[t])
        assert s.value(path[t + 1]) <= s.value(path[t]) - 1e-4 * etas[t] * (g @ g) + 1e-12
    assert run.loss_evaluations > len(etas)  # backtracking costs evaluations
    assert not run.trajectory.diverged


def test_polyak_step_on_a_quadratic_is_one_over_two_lambda():
    # L = λθ²/2: (L − 0)/‖∇L‖² = (λθ²/2)/(λ²θ²) = 1/(2λ) at every θ ≠ 0
    lam = 4.0
    s = surfaces.Quadratic1D(curvature=lam)
    run = line_search.polyak(s, steps=10, f_star=0.0)
    np.testing.assert_allclose(run.step_sizes, 1 / (2 * lam), rtol=1e-12)
    w = torch.tensor([3.0], dtype=torch.float64, requires_grad=True)

    def closure():
        w.grad = None
        loss = lam * torch.sum(w**2) / 2
        loss.backward()
        return loss

    opt = SGDPolyak([w], f_star=0.0, lr_max=10.0)
    opt.step(closure)
    assert opt.state["polyak"]["last_lr"] == pytest.approx(1 / (2 * lam))
    assert float(w.detach()) == pytest.approx(3.0 * (1 - lam / (2 * lam)))


def test_clipping_bounds_the_update_and_equals_torch_clip_grad_norm():
    torch.manual_seed(0)
    for trial in range(50):
        params = [torch.randn(3, 4, dtype=torch.float64, requires_grad=True), torch.randn(5, dtype=torch.float64, requires_grad=True)]
        twins = [p.detach().clone().requires_grad_() for p in params]
        scale = 10 ** torch.empty(1).uniform_(-2, 2).item()
        for p, q in zip(params, twins):
            g = torch.randn_like(p) * scale
            p.grad, q.grad = g.clone(), g.clone()
        eta, c = 0.3, 1.0
        before = [p.detach().clone() for p in params]
        SGDClip(params, lr=eta, max_norm=c).step()
        step = torch.sqrt(sum(torch.sum((p.detach() - b) ** 2) for p, b in zip(params, before)))
        assert float(step) <= eta * c * (1 + 1e-12)
        torch.nn.utils.clip_grad_norm_(twins, c)
        torch.optim.SGD(twins, lr=eta).step()
        for p, q in zip(params, twins):
            torch.testing.assert_close(p.detach(), q.detach(), rtol=1e-12, atol=1e-12)


def test_clipping_on_a_surface_never_steps_further_than_eta_c():
    s = surfaces.Rosenbrock()
    run = line_search.clipped(s, eta=0.01, max_norm=5.0, steps=300)
    steps = np.linalg.norm(np.diff(run.trajectory.path, axis=0), axis=1)
    assert np.all(steps[np.isfinite(steps)] <= 0.01 * 5.0 * (1 + 1e-12))


@pytest.mark.parametrize("make, message", [
    (lambda p: SGDArmijo(p, lr=-1), "Invalid learning rate"),
    (lambda p: SGDArmijo(p, c=1.5), "sufficient-decrease"),
    (lambda p: SGDArmijo(p, shrink=1.0), "shrink"),
    (lambda p: SGDPolyak(p, lr_max=0), "lr_max"),
    (lambda p: SGDClip(p, max_norm=0), "max_norm"),
])
def test_bad_arguments(make, message):
    with pytest.raises(ValueError, match=message):
        make([torch.zeros(2, requires_grad=True)])


def test_armijo_needs_a_closure():
    w = torch.zeros(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="closure"):
        SGDArmijo([w]).step(None)
