import math

import numpy as np
import pandas as pd
import pytest

from ethoflow.evaluation.agreement import agreement, behaviour_agreement, on_one_clock


def _frames(n: int, *runs: tuple[int, int]) -> np.ndarray:
    marked = np.zeros(n, np.int8)
    for start, stop in runs:
        marked[start:stop] = 1
    return marked


def test_known_overlaps_give_the_numbers_worked_out_by_hand():
    # 20 frames. A grooms in [2, 6), [10, 14), [17, 19): 10 frames, 3 bouts; B in [4, 8) and
    # [15, 16): 5 frames, 2 bouts. Neither marks rearing.
    a = pd.DataFrame({"grooming": _frames(20, (2, 6), (10, 14), (17, 19)), "rearing": 0})
    b = pd.DataFrame({"grooming": _frames(20, (4, 8), (15, 16)), "rearing": 0})
    table = agreement(a, b).set_index("behaviour")
    grooming = table.loc["grooming"]
    # Frames both mark: 4, 5 (tp 2); B only: 6, 7, 15 (fp 3); A only: 8 frames (fn); tn 7.
    assert (grooming.frames, grooming.frames_a, grooming.frames_b) == (20, 10, 5)
    assert grooming.precision == pytest.approx(2 / 5)
    assert grooming.recall == pytest.approx(2 / 10)
    assert grooming.f1 == pytest.approx(2 * 2 / (2 * 2 + 3 + 8))
    # Observed agreement (2 + 7) / 20; by chance 0.5 · 0.25 + 0.5 · 0.75 = 0.5.
    assert grooming.kappa == pytest.approx((9 / 20 - 0.5) / (1 - 0.5))
    # B's [4, 8) overlaps A's [2, 6) (IoU 2/6); B's [15, 16) overlaps nothing.
    assert (grooming.bouts_a, grooming.bouts_b) == (3, 2)
    assert grooming.bout_precision == pytest.approx(1 / 2)
    assert grooming.bout_recall == pytest.approx(1 / 3)
    assert grooming.bout_f1 == pytest.approx(2 * (1 / 2) * (1 / 3) / (1 / 2 + 1 / 3))
    # Neither marks a rearing frame: perfect agreement, but kappa is undefined.
    rearing = table.loc["rearing"]
    assert rearing[["precision", "recall", "f1", "bout_precision", "bout_f1"]].tolist() == [1] * 5
    assert math.isnan(rearing.kappa)
    # Asking for IoU ≥ 0.5, the one overlap (IoU 1/3) no longer matches.
    strict = agreement(a, b, min_iou=0.5).set_index("behaviour").loc["grooming"]
    assert (strict.bout_precision, strict.bout_recall, strict.bout_f1) == (0, 0, 0)
    assert strict.f1 == grooming.f1  # frame scores do not depend on it


def test_one_long_bout_matches_every_bout_it_spans():
    result = behaviour_agreement(_frames(10, (0, 3), (5, 8)), _frames(10, (1, 7)), "rearing")
    assert (result.bout_precision, result.bout_recall, result.bout_f1) == (1, 1, 1)


def test_a_silent_rater_scores_zero_not_perfect():
    result = behaviour_agreement(_frames(8, (2, 5)), _frames(8), "grooming")
    assert (result.precision, result.recall, result.f1, result.kappa) == (0, 0, 0, 0)
    assert (result.bout_precision, result.bout_recall, result.bout_f1) == (0, 0, 0)


def test_tables_of_different_videos_are_refused():
    a = pd.DataFrame({"grooming": _frames(5), "rearing": _frames(5)})
    with pytest.raises(ValueError, match="A has 5 frames, B has 4"):
        agreement(a, a.iloc[:4])
    with pytest.raises(ValueError, match=r"min_iou must be in \[0, 1\]"):
        agreement(a, a, min_iou=1.5)


def test_a_per_frame_table_is_put_on_a_models_clock():
    # A person's 30 fps file of 9 frames; a model's labels.csv whose 3 rows show frames 0, 3, 6.
    person = pd.DataFrame({"grooming": _frames(9, (3, 6)), "rearing": _frames(9, (8, 9))})
    model = pd.DataFrame({"grooming": _frames(3, (1, 2)), "rearing": _frames(3)})
    clock = np.array([0, 3, 6])
    a, b = on_one_clock(person, model, clocks=(None, clock))
    assert a.grooming.tolist() == [0, 1, 0] and a.rearing.tolist() == [0, 0, 0] and b is model
    a, b = on_one_clock(model, person, clocks=(clock, None))
    assert a is model and b.grooming.tolist() == [0, 1, 0]
    # A slower camera's clock repeats frames (5 fps on 10: 0, 0, 1, 1, 2, 2).
    slow = pd.DataFrame({"grooming": _frames(3, (1, 2)), "rearing": _frames(3)})
    shown = np.repeat([0, 1, 2], 2)
    a, _ = on_one_clock(slow, model.iloc[shown], clocks=(None, shown))
    assert a.grooming.tolist() == [0, 0, 1, 1, 0, 0]


def test_tables_on_clocks_of_other_videos_are_refused_naming_the_conversion():
    model = pd.DataFrame({"grooming": _frames(3), "rearing": _frames(3)})
    longer = pd.DataFrame({"grooming": _frames(20), "rearing": _frames(20)})
    with pytest.raises(ValueError, match="a.csv has 20 frames, b.csv has 3: not one video"):
        on_one_clock(longer, model, clocks=(None, np.array([0, 3, 6])), names=("a.csv", "b.csv"))
    with pytest.raises(ValueError, match=r"`ethoflow labels convert A --to bouts --fps <its fps>"):
        on_one_clock(longer, model, clocks=(None, None))


def test_frames_either_rater_left_unknown_are_left_out():
    # A labelled frames 0-9 only (an empty cell reads as <NA>); B the whole video. B's bout in
    # [12, 15) lies where A said nothing: neither a false positive nor an unmatched bout.
    a = pd.DataFrame(
        {
            "grooming": pd.array([0, 1, 1, 1, 0, 0, 0, 0, 1, 1] + [None] * 6, dtype="Int8"),
            "rearing": pd.array([None] * 16, dtype="Int8"),
        }
    )
    b = pd.DataFrame({"grooming": _frames(16, (1, 4), (8, 10), (12, 15)), "rearing": 0})
    table = agreement(a, b).set_index("behaviour")
    grooming = table.loc["grooming"]
    assert (grooming.frames, grooming.frames_a, grooming.frames_b) == (10, 5, 5)
    assert (grooming.f1, grooming.kappa, grooming.bout_f1) == (1.0, 1.0, 1.0)
    assert (grooming.bouts_a, grooming.bouts_b) == (2, 2)
    # No frame labelled by both: nothing measured, not perfect agreement.
    rearing = table.loc["rearing"]
    assert rearing.frames == 0
    assert rearing[["precision", "recall", "f1", "kappa", "bout_f1"]].isna().all()


def test_label_agreement_scores_only_the_frames_the_truth_labels():
    from ethoflow.evaluation.agreement import label_agreement

    labels = pd.DataFrame(
        {"frame": range(6), "grooming": [1, 1, 0, 0, 1, 1], "grooming_probability": 0.5}
    )
    truth = pd.DataFrame({"frame": range(6), "grooming": [1, 1, 0, 0, np.nan, np.nan]})
    row = label_agreement(labels, truth, ["grooming"]).iloc[0]
    assert (row.n_frames, row.tp, row.fp, row.f1) == (4, 2, 0, 1.0)
