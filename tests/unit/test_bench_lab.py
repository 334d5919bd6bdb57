"""The lab-scale benchmark's growth fit and its projection of the real search budget."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
from bench_lab import fit_growth, projected, real_search_projection  # noqa: E402


def test_growth_through_two_sizes_projects_the_line():
    growth = fit_growth([1.0, 2.0], [130.0, 250.0])
    assert growth == pytest.approx((10.0, 120.0))
    assert projected(growth, 50.0) == pytest.approx(6010.0)


def test_growth_of_three_sizes_is_the_least_squares_line():
    assert fit_growth([1.0, 2.0, 3.0], [1.0, 3.0, 4.0]) == pytest.approx((-1 / 3, 1.5))


def test_a_shrinking_stage_is_never_projected_below_zero():
    assert projected(fit_growth([1.0, 2.0], [10.0, 4.0]), 50.0) == 0.0


def test_growth_needs_two_sizes():
    with pytest.raises(ValueError, match="two sizes"):
        fit_growth([1.0, 1.0], [3.0, 4.0])


def test_real_budget_projection_bounds_each_trial_by_max_epochs():
    trials = [
        {
            "head": "grooming",
            "architecture": "tcn",
            "first_epoch_s": 10.0,
            "steady_epoch_s": 2.0,
            "trial_s": 14.0,
        },
        {
            "head": "rearing",
            "architecture": "lstm",
            "first_epoch_s": 5.0,
            "steady_epoch_s": 1.0,
            "trial_s": 7.0,
        },
    ]
    search = {"seconds": 30.0, "trials": trials}
    projection = real_search_projection(search, {"n_trials": 4, "max_epochs": 30})
    assert projection["per_search_s"] == {"grooming/tcn": 4 * 68.0, "rearing/lstm": 4 * 34.0}
    # 9 s of the sampled search were outside its trials: counted once more.
    assert projection["seconds"] == 4 * 68.0 + 4 * 34.0 + 9.0
