"""The search objective against the training loop and the batched sweep; grid and random
candidates; Optuna studies (determinism, pruning at the rungs, a study shared by two processes)."""
import math
import subprocess
import sys
import textwrap

import numpy as np
import optuna
import pytest
import torch

from lrcourse.training import metrics, models
from lrcourse.search import studies
from lrcourse.search import objective as search
from lrcourse.training import loop as train

optuna.logging.set_verbosity(optuna.logging.WARNING)
TASK64 = search.Task(dtype=torch.float64)
TASK = search.Task()


@pytest.mark.parametrize("eta", [0.003, 0.05])
def test_run_matches_train_loop(eta):
    """A Run sees what train.train sees: same θ_0, batches, SGD with momentum → same hold-out loss."""
    run = search.Run(TASK64, eta, seed=3)
    losses = [run.epoch() for _ in range(TASK64.epochs)]
    model = models.mlp(TASK64.sizes, 3, torch.float64)
    opt = torch.optim.SGD(model.parameters(), lr=eta, momentum=TASK64.momentum)
    hist = train.train(model, opt, TASK64.data(), epochs=TASK64.epochs, batch_size=TASK64.batch_size,
                       seed=3, progress=False)
    assert np.max(np.abs(np.array(losses) - np.array(hist.val_loss))) <= 1e-12
    assert run.epochs_done == TASK64.epochs and run.diverged_at is None


def test_batched_evaluate_matches_runs():
    etas = [1e-3, 0.01, 0.08]
    batched = search.evaluate(TASK64, etas, seed=1)
    one_by_one = []
    for eta in etas:
        run = search.Run(TASK64, eta, seed=1)
        for _ in range(TASK64.epochs):
            run.epoch()
        one_by_one.append(run.val_loss)
    np.testing.assert_allclose(batched, one_by_one, rtol=0, atol=1e-9)


def test_divergence_is_a_result():
    run = search.Run(TASK, 1e3)
    assert run.epoch() == math.inf and run.diverged_at == 0
    assert run.epoch() == math.inf and run.epochs_done == 1  # no more training after divergence
    assert search.evaluate(TASK, [1e3, 0.05])[0] == math.inf
    assert math.isfinite(search.evaluate(TASK, [1e3, 0.05])[1])


def test_state_dict_resumes_exactly():
    a = search.Run(TASK64, 0.05, seed=2)
    for _ in range(3):
        a.epoch()
    state = a.state_dict()
    after = [a.epoch() for _ in range(2)]
    b = search.Run(TASK64, 0.5, seed=7)  # different η, θ_0 and batch order: all overwritten
    b.load_state_dict(state)
    assert b.eta == 0.05 and b.epochs_done == 3
    assert [b.epoch() for _ in range(2)] == after


def test_candidates():
    g = search.grid_etas(TASK, 5)
    np.testing.assert_allclose(np.log10(g), [-4, -3, -2, -1, 0], atol=1e-12)
    assert search.grid_etas(TASK, 1)[0] == pytest.approx(1e-2)
    r = search.random_etas(TASK, 2000, seed=0)
    assert np.all((r >= TASK.lo) & (r <= TASK.hi))
    # log-uniform: each decade holds ~1/4 of the draws (binomial sd ≈ 0.01)
    counts = np.histogram(np.log10(r), bins=[-4, -3, -2, -1, 0])[0] / len(r)
    np.testing.assert_allclose(counts, 0.25, atol=0.04)
    np.testing.assert_array_equal(search.random_etas(TASK, 5, seed=4), search.random_etas(TASK, 5, seed=4))
    assert not np.array_equal(search.random_etas(TASK, 5, seed=4), search.random_etas(TASK, 5, seed=5))
    np.testing.assert_array_equal(search.best_so_far([3.0, 1.0, 2.0, np.inf, 0.5]), [3, 1, 1, 1, 0.5])
    # after 5, 12, 13, 30 epochs spent: nothing yet, then the best of the trials finished by then
    np.testing.assert_array_equal(search.best_within([10, 13, 23], [0.5, 0.3, 0.3], [5, 12, 13, 30]),
                                  [np.inf, 0.5, 0.3, 0.3])


def test_invalid_arguments():
    with pytest.raises(ValueError, match="Invalid learning rate"):
        search.Run(TASK, -1.0)
    with pytest.raises(ValueError, match="Invalid search range"):
        search.Task(lo=1.0, hi=0.1)
    with pytest.raises(ValueError, match="Invalid momentum"):
        search.Task(momentum=1.0)
    with pytest.raises(ValueError, match="Invalid budget"):
        search.random_etas(TASK, 0, seed=0)
    with pytest.raises(ValueError, match="Invalid sampler"):
        studies.run_study(TASK, n_trials=1, sampler="grid")
    with pytest.raises(ValueError, match="Invalid pruner"):
        studies.run_study(TASK, n_trials=1, pruner="median")


def test_tpe_study_is_deterministic_and_reports_every_epoch():
    small = search.Task(epochs=4)
    a = studies.study_frame(studies.run_study(small, n_trials=8, sampler="tpe", seed=3))
    b = studies.study_frame(studies.run_study(small, n_trials=8, sampler="tpe", seed=3))
    assert a.equals(b)
    assert (a.state == "COMPLETE").all() and (a.epochs == small.epochs).all()
    c = studies.study_frame(studies.run_study(small, n_trials=8, sampler="tpe", seed=4))
    assert not np.allclose(a.eta, c.eta)
    # the reported curve is the Run's curve at the suggested η
    run = search.Run(small, a.eta[0])
    assert a.value[0] == [run.epoch() for _ in range(small.epochs)][-1]


@pytest.mark.parametrize("pruner, rungs", [("halving", {1, 3, 9}), ("hyperband", {1, 3, 9})])
def test_pruners_stop_trials_at_rungs_and_save_epochs(pruner, rungs):
    frame = studies.study_frame(studies.run_study(TASK, n_trials=20, sampler="random", pruner=pruner, seed=0))
    pruned = frame[frame.state == "PRUNED"]
    assert len(pruned) >= 5
    assert set(pruned.epochs) <= rungs  # a trial stops only where the pruner compares trials
    assert frame.cum_epochs.iloc[-1] < 20 * TASK.epochs
    done = frame[frame.state == "COMPLETE"]
    assert (done.epochs == TASK.epochs).all() and frame.best.iloc[-1] == done.value.min()


@pytest.mark.slow  # two fresh processes import torch, sklearn and optuna: ~10 s, more on a busy machine
def test_two_workers_share_one_sqlite_study(tmp_path):
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    optuna.create_study(study_name="shared", storage=url, direction="minimize")  # schema made once
    code = textwrap.dedent(f"""
        import sys, optuna
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        from lrcourse.search import objective as search, studies
        studies.work({url!r}, "shared", 4, seed=int(sys.argv[1]), task=search.Task(epochs=2))
    """)
    workers = [subprocess.Popen([sys.executable, "-c", code, str(i)], stderr=subprocess.PIPE, text=True)
               for i in (1, 2)]
    errors = [w.communicate(timeout=120)[1] for w in workers]
    assert [w.returncode for w in workers] == [0, 0], errors
    study = optuna.load_study(study_name="shared", storage=url)
    assert len(study.trials) == 8
    assert sorted(t.number for t in study.trials) == list(range(8))
    assert all(t.state.name == "COMPLETE" and len(t.intermediate_values) == 2 for t in study.trials)
