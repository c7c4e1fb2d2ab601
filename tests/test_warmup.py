"""track_adam_sharpness: the trajectory is torch's Adam with a LambdaLR linear warm-up, and the
preconditioned sharpness is the top eigenvalue of P^{-1/2} H P^{-1/2} from the full Hessian."""
import numpy as np
import pytest
import torch

from lrcourse import data
from lrcourse.training.models import mlp
from lrcourse.choosing.warmup import track_adam_sharpness

SIZES = (2, 6, 3)


@pytest.fixture(scope="module")
def task():
    d = data.blobs(0, n_samples=120, val_size=0.2, test_size=0.2, dtype=torch.float64)
    return d.X_train, d.y_train


def test_trajectory_equals_torch_adam_with_lambdalr(task):
    X, y = task
    etas, warm = [0.05, 0.05, 0.2], [0, 4, 3]
    run = track_adam_sharpness(etas, warm, X, y, sizes=SIZES, steps=8, every=4, seed=3, dtype=torch.float64)
    for k, (eta, T) in enumerate(zip(etas, warm)):
        model = mlp(SIZES, 3, torch.float64)
        opt = torch.optim.Adam(model.parameters(), lr=eta)
        sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 1.0 if T == 0 else min(1.0, (s + 1) / T))
        seen, rates = [], []
        for t in range(9):
            loss = torch.nn.functional.cross_entropy(model(X), y)
            seen.append(loss.item())
            if t == 8:
                break
            rates.append(opt.param_groups[0]["lr"])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
        np.testing.assert_allclose(run.loss[k], seen, rtol=0, atol=1e-12)
        np.testing.assert_allclose(run.lr[k], rates, rtol=0, atol=1e-15)


def test_preconditioned_sharpness_equals_full_hessian(task):
    X, y = task
    steps, eps = 4, 1e-8
    run = track_adam_sharpness([0.05], [2], X, y, sizes=SIZES, steps=steps, every=steps, seed=1,
                               power_iters=400, dtype=torch.float64)
    assert list(run.marks) == [1, steps]
    # the oracle: replay with torch's Adam, form H and P, take eigvalsh
    model = mlp(SIZES, 1, torch.float64)
    opt = torch.optim.Adam(model.parameters(), lr=0.05)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / 2))
    for _ in range(steps):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(X), y).backward()
        opt.step()
        sched.step()
    params = list(model.parameters())
    flat = torch.cat([p.detach().reshape(-1) for p in params])

    def loss_of(vec):
        out, i = X, 0
        for l, layer in enumerate([m for m in model if isinstance(m, torch.nn.Linear)]):
            W = vec[i:i + layer.weight.numel()].view_as(layer.weight)
            i += W.numel()
            b = vec[i:i + layer.bias.numel()]
            i += b.numel()
            out = out @ W.T + b
            if l == 0:
                out = out.relu()
        return torch.nn.functional.cross_entropy(out, y)

    H = torch.autograd.functional.hessian(loss_of, flat)
    v_hat = torch.cat([opt.state[p]["exp_avg_sq"].reshape(-1) for p in params]) / (1 - 0.999**steps)
    s = (v_hat.sqrt() + eps).rsqrt()
    exact_pre = torch.linalg.eigvalsh(s[:, None] * H * s[None, :]).max().item()
    exact = torch.linalg.eigvalsh(H).max().item()
    assert run.sharpness[0, -1] == pytest.approx(exact, rel=1e-5)
    assert run.preconditioned[0, -1] == pytest.approx(exact_pre, rel=1e-5)


@pytest.mark.parametrize("warmups, match", [([1, 2], "Invalid warmups"), ([-1], "Invalid warmups"),
                                            ([0.5], "Invalid warmups")])
def test_bad_warmups(task, warmups, match):
    X, y = task
    with pytest.raises(ValueError, match=match):
        track_adam_sharpness([0.1], warmups, X, y, sizes=SIZES, steps=2)


def test_bad_extra_marks(task):
    X, y = task
    with pytest.raises(ValueError, match="Invalid extra_marks"):
        track_adam_sharpness([0.1], [0], X, y, sizes=SIZES, steps=2, extra_marks=[3])
