"""lrcourse.choosing.ceiling: the Bayes classifier of make_blobs, and blobs in raw coordinates."""
import numpy as np
import pytest
import torch
from scipy.stats import multivariate_normal
from sklearn.datasets import make_blobs

from lrcourse import data
from lrcourse.choosing import ceiling
from lrcourse.training.metrics import macro_auc
from lrcourse.training.models import mlp
from lrcourse.training.loop import train


@pytest.mark.parametrize("seed", [0, 2])
def test_raw_blobs_are_data_blobs_before_standardising(seed):
    raw = ceiling.raw_blobs(seed, dtype=torch.float64)
    std = data.blobs(seed, dtype=torch.float64)
    assert torch.equal(raw.y_train, std.y_train) and torch.equal(raw.y_val, std.y_val)
    m = raw.X_train.mean(0)
    s = raw.X_train.std(0, unbiased=False)
    for a, b in ((raw.X_train, std.X_train), (raw.X_val, std.X_val)):
        torch.testing.assert_close((a - m) / s, b, rtol=0, atol=1e-12)
    # every raw point is one of make_blobs's points, each used once, with its label
    X, y = make_blobs(n_samples=1000, centers=3, n_features=2, cluster_std=2.0, random_state=seed)
    both = torch.cat([raw.X_train, raw.X_val]).numpy()
    labels = torch.cat([raw.y_train, raw.y_val]).numpy()
    rows = [int(np.flatnonzero((X == r).all(1))[0]) for r in both]
    assert len(set(rows)) == 1000
    assert (y[rows] == labels).all()


def test_posterior_is_bayes_rule_with_gaussian_densities():
    mu = ceiling.centres(2)
    rng = np.random.default_rng(0)
    X = mu[rng.integers(0, 3, 200)] + 2.0 * rng.standard_normal((200, 2))
    dens = np.stack([multivariate_normal(m, 4.0 * np.eye(2)).pdf(X) for m in mu], 1)
    np.testing.assert_allclose(ceiling.posterior(X, mu, 2.0), dens / dens.sum(1, keepdims=True), rtol=1e-9, atol=1e-15)


def test_no_trained_network_beats_the_ceiling_on_fresh_points():
    seed, n = 2, 60_000
    raw = ceiling.raw_blobs(seed)
    model = mlp((2, 50, 3), 0)
    train(model, torch.optim.SGD(model.parameters(), lr=0.03), raw, epochs=60, batch_size=50, progress=False)
    mu = ceiling.centres(seed)
    rng = np.random.default_rng(7)
    y = np.arange(n) % 3
    X = mu[y] + 2.0 * rng.standard_normal((n, 2))
    with torch.no_grad():
        p_net = torch.softmax(model(torch.tensor(X, dtype=torch.float32)), -1).double()
    p_bayes = torch.from_numpy(ceiling.posterior(X, mu, 2.0))
    yt = torch.from_numpy(y)
    auc_net, auc_bayes = float(macro_auc(p_net, yt, 3)), float(macro_auc(p_bayes, yt, 3))
    acc_net = float((p_net.argmax(1) == yt).double().mean())
    acc_bayes = float((p_bayes.argmax(1) == yt).double().mean())
    assert auc_net > 0.9  # the network did learn
    assert auc_bayes >= auc_net - 1e-3 and acc_bayes >= acc_net - 3e-3
    # and bayes_ceiling(split="fresh") is the same computation on its own fresh points
    c = ceiling.bayes_ceiling(seed, split="fresh", n_fresh=n)
    assert c.n == n and abs(c.auc - auc_bayes) < 0.005


def test_invalid_arguments():
    with pytest.raises(ValueError, match="Invalid split"):
        ceiling.bayes_ceiling(0, split="test-set")
    with pytest.raises(ValueError, match="Invalid seed"):
        ceiling.centres(-1)
    with pytest.raises(ValueError, match="Invalid cluster_std"):
        ceiling.posterior(np.zeros((2, 2)), np.zeros((3, 2)), 0.0)
