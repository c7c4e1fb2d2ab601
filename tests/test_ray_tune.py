"""Ray Tune's PBT scheduler runs the book's objective with local workers, offline.

Ray comes from requirements-scale.txt, not from the book's requirements: the module is
imported inside the test, so collecting this file does not need Ray; running it does.
"""
import math

import pytest

from lrcourse.search import objective as search


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_ray_tune_pbt_runs_and_perturbs(tmp_path):
    from lrcourse.search import scale_out

    task = search.Task()
    result = scale_out.tune_pbt(task, population=4, epochs=6, interval=2, seed=0,
                                storage_path=str(tmp_path))
    initial = sorted(float(e) for e in search.random_etas(task, 4, 0))
    # every trial came back with one report per epoch
    assert len(result.etas) == 4 and all(len(e) == 6 for e in result.etas)
    assert sorted(e[0] for e in result.etas) == pytest.approx(initial)
    assert all(math.isfinite(v) for curve in result.losses for v in curve)
    # PBT perturbed: each exploit copied a trial's config and multiplied η by 0.8 or 1.2
    assert len(result.perturbations) >= 1
    for event in result.perturbations:
        ratio = event["new_config"]["eta"] / event["old_config"]["eta"]
        assert ratio == pytest.approx(0.8) or ratio == pytest.approx(1.2)
        assert event["old_config"]["eta"] in [pytest.approx(e) for curve in result.etas for e in curve]
    # some trial went on training with a perturbed η, i.e. its η changed during the run
    assert any(len(set(curve)) > 1 for curve in result.etas)
    assert result.best_loss == min(curve[-1] for curve in result.losses)
