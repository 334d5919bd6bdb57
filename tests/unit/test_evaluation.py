import math

import numpy as np
import pandas as pd
import pytest

from ethoflow.config import PostProcessing
from ethoflow.evaluation.metrics import (
    BinaryMetrics,
    Evaluation,
    binary_metrics,
    choose_threshold,
    evaluate_videos,
    worst_condition,
)
from ethoflow.io.labels import bouts
from ethoflow.postprocess import label_frames, postprocess

# --- binary_metrics -------------------------------------------------------------------------


def test_metrics_match_hand_computed_counts_and_ratios():
    targets = np.array([1, 1, 0, 0, 1])
    predicted = np.array([1, 0, 0, 1, 1])
    scores = np.array([0.9, 0.4, 0.2, 0.6, 0.8])
    metrics = binary_metrics(targets, scores, predicted)
    assert (metrics.tp, metrics.fp, metrics.fn, metrics.tn) == (2, 1, 1, 1)
    assert (metrics.n_frames, metrics.n_positive) == (5, 3)
    assert metrics.accuracy == pytest.approx(3 / 5)
    assert metrics.precision == pytest.approx(2 / 3)
    assert metrics.recall == pytest.approx(2 / 3)
    assert metrics.f1 == pytest.approx(2 / 3)
    # Ranked by score: P P N P N. Average precision = sum over positives of (recall step) x
    # precision at that positive = 1/3 * 1 + 1/3 * 1 + 1/3 * 3/4.
    assert metrics.pr_auc == pytest.approx(11 / 12)


def test_pr_auc_on_a_tiny_ranking():
    # Ranked by score: N (0.8), P (0.4), P (0.35), N (0.1).
    # Precision at the two positives: 1/2 and 2/3, each worth a recall step of 1/2.
    metrics = binary_metrics(
        np.array([0, 1, 1, 0]), np.array([0.1, 0.4, 0.35, 0.8]), np.array([0, 0, 0, 1])
    )
    assert metrics.pr_auc == pytest.approx(0.5 * 1 / 2 + 0.5 * 2 / 3)


def test_metrics_accept_float_and_bool_inputs():
    metrics = binary_metrics(
        np.array([1.0, 0.0, 1.0], dtype=np.float32),
        np.array([0.7, 0.2, 0.1], dtype=np.float32),
        np.array([True, False, False]),
    )
    assert (metrics.tp, metrics.fp, metrics.fn, metrics.tn) == (1, 0, 1, 1)
    assert metrics.precision == 1.0
    assert metrics.recall == 0.5
    assert metrics.f1 == pytest.approx(2 / 3)


def test_no_positives_and_none_predicted_is_perfect():
    metrics = binary_metrics(np.zeros(4), np.full(4, 0.1), np.zeros(4))
    assert (metrics.precision, metrics.recall, metrics.f1, metrics.accuracy) == (1.0, 1.0, 1.0, 1.0)
    assert math.isnan(metrics.pr_auc)
    assert metrics.n_positive == 0


def test_positives_but_none_predicted_scores_zero():
    metrics = binary_metrics(np.array([1, 0, 0]), np.array([0.3, 0.2, 0.1]), np.zeros(3))
    assert (metrics.precision, metrics.recall, metrics.f1) == (0.0, 0.0, 0.0)
    assert metrics.accuracy == pytest.approx(2 / 3)
    assert metrics.pr_auc == pytest.approx(1.0)


def test_false_alarms_without_positives_score_zero():
    metrics = binary_metrics(np.zeros(3), np.array([0.1, 0.9, 0.1]), np.array([0, 1, 0]))
    assert (metrics.precision, metrics.recall, metrics.f1) == (0.0, 0.0, 0.0)
    assert math.isnan(metrics.pr_auc)


def test_metrics_agree_with_scikit_learn_where_defined():
    from sklearn.metrics import accuracy_score, f1_score, precision_score, recall_score

    rng = np.random.default_rng(3)
    targets = (rng.random(200) < 0.3).astype(int)
    predicted = (rng.random(200) < 0.4).astype(int)
    metrics = binary_metrics(targets, rng.random(200), predicted)
    assert metrics.accuracy == pytest.approx(accuracy_score(targets, predicted))
    assert metrics.precision == pytest.approx(precision_score(targets, predicted))
    assert metrics.recall == pytest.approx(recall_score(targets, predicted))
    assert metrics.f1 == pytest.approx(f1_score(targets, predicted))


def test_as_dict_gives_every_field_as_float():
    metrics = binary_metrics(np.array([1, 0]), np.array([0.9, 0.1]), np.array([1, 0]))
    values = metrics.as_dict()
    assert list(values) == list(BinaryMetrics.__dataclass_fields__)
    assert all(type(value) is float for value in values.values())
    assert values["tp"] == 1.0


@pytest.mark.parametrize(
    ("targets", "scores", "predicted", "message"),
    [
        ([1, 0, 2], [0.1, 0.2, 0.3], [1, 0, 0], "targets must be 0/1"),
        ([1, 0, 0.5], [0.1, 0.2, 0.3], [1, 0, 0], "targets must be 0/1"),
        ([1, 0, 1], [0.1, 0.2, 0.3], [1, 0, -1], "predicted must be 0/1"),
        ([1, 0, 1], [0.1, 0.2], [1, 0, 1], "mismatched lengths"),
        ([1, 0, 1], [0.1, np.nan, 0.3], [1, 0, 1], "scores must be finite"),
        ([[1, 0]], [[0.1, 0.2]], [[1, 0]], "must be 1-D"),
        ([], [], [], "no frames"),
    ],
)
def test_metrics_reject_bad_inputs(targets, scores, predicted, message):
    with pytest.raises(ValueError, match=message):
        binary_metrics(np.array(targets), np.array(scores), np.array(predicted))


# --- choose_threshold -----------------------------------------------------------------------


def test_threshold_maximises_f1():
    targets = np.array([0, 0, 1, 0, 1, 1])
    scores = np.array([0.1, 0.2, 0.3, 0.4, 0.7, 0.9])
    # F1 by cut: 0.9 -> 2/4, 0.7 -> 4/5, 0.4 -> 4/6, 0.3 -> 6/7, 0.2 -> 6/8, 0.1 -> 6/9.
    threshold = choose_threshold(targets, scores)
    assert threshold == pytest.approx(0.3)
    f1 = binary_metrics(targets, scores, scores >= threshold).f1
    assert f1 == pytest.approx(6 / 7)
    assert f1 > binary_metrics(targets, scores, scores >= 0.5).f1


def test_threshold_with_groups_suits_the_worst_group():
    # Set-up "a" (20 frames) scores its positives 0.9 and its negatives 0.5; "b" (4 frames)
    # scores its positives 0.45 and 0.4. Pooled, "a" decides: a cut at 0.9 misses all of b.
    targets = np.r_[np.ones(10), np.zeros(10), [1, 1, 0, 0]]
    scores = np.r_[np.full(10, 0.9), np.full(10, 0.5), [0.45, 0.4, 0.3, 0.05]]
    groups = np.array(["a"] * 20 + ["b"] * 4)
    assert choose_threshold(targets, scores) == pytest.approx(0.9)
    # Cuts 0.3 to 0.45 all give a F1 2/3 (its negatives let in); 0.4 has b's F1 1 and the best
    # F1 over all frames (24/34).
    threshold = choose_threshold(targets, scores, groups)
    assert threshold == pytest.approx(0.4)
    b = groups == "b"
    assert binary_metrics(targets[b], scores[b], scores[b] >= threshold).f1 == 1.0


def test_threshold_with_groups_ignores_groups_without_positives_and_breaks_ties_by_pooled_f1():
    targets = np.array([1, 0, 1, 0, 0, 0])
    scores = np.array([0.9, 0.5, 0.8, 0.3, 0.6, 0.7])
    groups = np.array(["a", "a", "b", "b", "none", "none"])
    # Both a and b are perfect from cut 0.6 to 0.8 ("none" has no positives to be judged on);
    # over all frames 0.6 and 0.7 let in none's 0.6 and 0.7, so 0.8 wins, not the lowest cut.
    assert choose_threshold(targets, scores, groups) == pytest.approx(0.8)


def test_threshold_reproduces_its_predictions_on_float32_scores():
    targets = np.array([0, 1, 1, 0, 1])
    scores = np.array([0.1, 0.3, 0.7, 0.2, 0.35], dtype=np.float32)
    threshold = choose_threshold(targets, scores)
    # The cut lands exactly on a float32 score, which must count as positive.
    np.testing.assert_array_equal(scores >= threshold, targets.astype(bool))


def test_threshold_ties_prefer_the_lower_cut():
    # F1 by cut: 0.9 -> 2/3, 0.6 -> 1/2, 0.5 -> 2/5, 0.4 -> 2/3.
    threshold = choose_threshold(np.array([1, 0, 0, 1]), np.array([0.9, 0.6, 0.5, 0.4]))
    assert threshold == pytest.approx(0.4)


def test_threshold_defaults_to_half_without_positives():
    assert choose_threshold(np.zeros(5), np.linspace(0, 1, 5)) == 0.5


def test_threshold_rejects_mismatched_lengths():
    with pytest.raises(ValueError, match="mismatched lengths"):
        choose_threshold(np.array([0, 1]), np.array([0.5]))


# --- bouts and postprocess ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("binary", "expected"),
    [
        ([], []),
        ([0, 0, 0], []),
        ([1, 1, 1], [(0, 3)]),
        ([0, 1, 1, 1, 0], [(1, 4)]),
        ([1, 1, 0, 1], [(0, 2), (3, 4)]),
        ([True, False, True], [(0, 1), (2, 3)]),
    ],
)
def test_bouts_are_half_open_runs_of_ones(binary, expected):
    assert bouts(np.array(binary)) == expected


def test_bouts_reject_non_binary_values():
    with pytest.raises(ValueError, match="binary must be 0/1"):
        bouts(np.array([0, 3, 1]))


def test_median_removes_a_one_frame_blip():
    smoothed = postprocess(np.array([0, 0, 1, 0, 0]), PostProcessing(median_frames=3))
    np.testing.assert_array_equal(smoothed, [0, 0, 0, 0, 0])


def test_median_fills_a_one_frame_gap():
    smoothed = postprocess(np.array([1, 1, 0, 1, 1]), PostProcessing(median_frames=3))
    np.testing.assert_array_equal(smoothed, [1, 1, 1, 1, 1])


def test_median_keeps_bouts_at_the_video_edges():
    predicted = np.array([1, 1, 1, 0, 0, 0, 0, 1, 1, 1])
    np.testing.assert_array_equal(
        postprocess(predicted, PostProcessing(median_frames=5)), predicted
    )


def test_short_bouts_are_dropped_and_long_ones_kept():
    predicted = np.array([1, 0, 1, 1, 0, 1, 1, 1, 0, 1, 1, 1, 1])
    smoothed = postprocess(predicted, PostProcessing(min_bout_frames=3))
    np.testing.assert_array_equal(smoothed, [0, 0, 0, 0, 0, 1, 1, 1, 0, 1, 1, 1, 1])


def test_median_runs_before_the_bout_filter():
    # The median joins two 2-frame bouts into one 5-frame bout, which then survives.
    predicted = np.array([1, 1, 0, 1, 1, 0, 0, 0, 1, 0])
    smoothed = postprocess(predicted, PostProcessing(median_frames=3, min_bout_frames=5))
    np.testing.assert_array_equal(smoothed, [1, 1, 1, 1, 1, 0, 0, 0, 0, 0])


def test_default_postprocessing_is_identity_and_leaves_the_input_alone():
    predicted = np.array([1, 0, 1, 1, 0], dtype=np.int64)
    smoothed = postprocess(predicted, PostProcessing())
    np.testing.assert_array_equal(smoothed, predicted)
    assert smoothed.dtype == np.int8
    smoothed[:] = 0
    np.testing.assert_array_equal(predicted, [1, 0, 1, 1, 0])


def test_hysteresis_grows_a_bout_into_adjacent_frames_just_under_the_threshold():
    scores = np.array([0.1, 0.7, 0.85, 0.95, 0.99, 0.9, 0.75, 0.2, 0.85, 0.85, 0.1])
    share = PostProcessing(low_threshold_share=0.8)
    # The bout's edges (0.85, 0.9: at least 0.8 × 0.95) join it; 0.7 and 0.75 are under 0.76.
    # The later 0.85s touch no frame above the threshold, so they stay unlabelled.
    np.testing.assert_array_equal(
        label_frames(scores, 0.95, share), [0, 0, 1, 1, 1, 1, 0, 0, 0, 0, 0]
    )
    plain = label_frames(scores, 0.95, PostProcessing())
    np.testing.assert_array_equal(plain, (scores >= 0.95).astype(np.int8))
    assert plain.dtype == np.int8


def test_hysteresis_runs_before_the_median_and_bout_filters():
    # Alone, the 2 frames above the threshold are a bout too short to keep; grown by hysteresis
    # to 4 frames, the bout survives min_bout_frames=3.
    scores = np.array([0.0, 0.85, 0.95, 0.95, 0.85, 0.0, 0.0])
    short = PostProcessing(min_bout_frames=3)
    assert label_frames(scores, 0.9, short).sum() == 0
    grown = PostProcessing(min_bout_frames=3, low_threshold_share=0.9)
    np.testing.assert_array_equal(label_frames(scores, 0.9, grown), [0, 1, 1, 1, 1, 0, 0])


def test_evaluate_videos_postprocessed_rows_use_hysteresis():
    targets = [np.array([0, 1, 1, 1, 1, 0])]
    scores = [np.array([0.1, 0.85, 0.99, 0.99, 0.85, 0.1])]
    table = evaluate_videos(
        ["v"], ["c"], targets, scores, 0.9, PostProcessing(low_threshold_share=0.9)
    )
    rows = table[table.scope == "all"].set_index("postprocessed")
    assert rows.loc[False, "recall"] == pytest.approx(0.5)
    assert rows.loc[True, "recall"] == pytest.approx(1.0)
    assert rows.loc[True, "precision"] == pytest.approx(1.0)


@pytest.mark.parametrize("share", [0.0, 1.5])
def test_low_threshold_share_must_be_a_share(share):
    with pytest.raises(ValueError, match="low_threshold_share"):
        PostProcessing(low_threshold_share=share)


def test_postprocess_handles_an_empty_video():
    smoothed = postprocess(
        np.array([], dtype=np.int8), PostProcessing(median_frames=3, min_bout_frames=3)
    )
    assert smoothed.shape == (0,) and smoothed.dtype == np.int8


@pytest.mark.parametrize(
    ("median_frames", "min_bout_frames", "message"),
    [(2, 1, "median_frames"), (0, 1, "median_frames"), (1, 0, "min_bout_frames")],
)
def test_postprocessing_rejects_bad_settings(median_frames, min_bout_frames, message):
    with pytest.raises(ValueError, match=message):
        PostProcessing(median_frames=median_frames, min_bout_frames=min_bout_frames)


# --- evaluate_videos and worst_condition ----------------------------------------------------


def _videos():
    """Three videos over two conditions; "a1" ends and "a2" starts with a one-frame detection."""
    return {
        "video_ids": ["a1", "b1", "a2"],
        "conditions": ["A", "B", "A"],
        "targets": [
            np.array([0, 1, 1, 1, 0, 0]),
            np.array([1, 1, 0, 0]),
            np.array([0, 0, 1, 1, 0]),
        ],
        "scores": [
            np.array([0.1, 0.8, 0.4, 0.9, 0.2, 0.7]),
            np.array([0.6, 0.5, 0.3, 0.2]),
            np.array([0.9, 0.1, 0.8, 0.7, 0.2]),
        ],
    }


def _row(table, scope, name, postprocessed):
    rows = table[
        (table.scope == scope) & (table.name == name) & (table.postprocessed == postprocessed)
    ]
    assert len(rows) == 1
    return rows.iloc[0]


def _assert_row_matches(row, metrics):
    for name, value in metrics.as_dict().items():
        if math.isnan(value):
            assert math.isnan(row[name]), name
        else:
            assert row[name] == pytest.approx(value), name


def test_evaluate_videos_has_raw_and_postprocessed_rows_per_scope():
    table = evaluate_videos(**_videos(), threshold=0.5, setting=PostProcessing(min_bout_frames=2))
    assert list(table.columns[:4]) == ["scope", "name", "condition", "postprocessed"]
    assert list(table.columns[4:]) == list(BinaryMetrics.__dataclass_fields__)
    assert len(table) == 2 * (3 + 2 + 1)
    assert table.postprocessed.value_counts().to_dict() == {False: 6, True: 6}
    raw = table[~table.postprocessed]
    assert raw.scope.tolist() == ["video"] * 3 + ["condition"] * 2 + ["all"]
    assert raw.name.tolist() == ["a1", "b1", "a2", "A", "B", "all"]
    assert raw.condition.tolist() == ["A", "B", "A", "A", "B", "all"]


def test_video_rows_threshold_inclusively():
    videos = _videos()
    table = evaluate_videos(**videos, threshold=0.5, setting=PostProcessing())
    # b1 scores 0.6 and 0.5 on its two positives: 0.5 counts as detected.
    assert _row(table, "video", "b1", False).tp == 2
    _assert_row_matches(
        _row(table, "video", "a1", False),
        binary_metrics(videos["targets"][0], videos["scores"][0], videos["scores"][0] >= 0.5),
    )


def test_condition_and_all_rows_pool_frames():
    videos = _videos()
    table = evaluate_videos(**videos, threshold=0.5, setting=PostProcessing())
    targets = np.concatenate([videos["targets"][0], videos["targets"][2]])
    scores = np.concatenate([videos["scores"][0], videos["scores"][2]])
    _assert_row_matches(
        _row(table, "condition", "A", False), binary_metrics(targets, scores, scores >= 0.5)
    )
    all_targets = np.concatenate(videos["targets"])
    all_scores = np.concatenate(videos["scores"])
    _assert_row_matches(
        _row(table, "all", "all", False),
        binary_metrics(all_targets, all_scores, all_scores >= 0.5),
    )
    # Pooled PR-AUC is over the pooled ranking, not a mean of the videos' PR-AUCs.
    per_video = table[(table.scope == "video") & (table.condition == "A") & ~table.postprocessed]
    assert _row(table, "condition", "A", False).pr_auc != pytest.approx(per_video.pr_auc.mean())


def test_postprocessing_runs_per_video_before_pooling():
    videos = _videos()
    table = evaluate_videos(**videos, threshold=0.5, setting=PostProcessing(min_bout_frames=2))
    # Thresholded: a1 -> 0 1 0 1 0 1, a2 -> 1 0 1 1 0. Per video, every one-frame bout goes,
    # including a1's last and a2's first frame, which would form a 2-frame bout if pooled first.
    expected = np.array([0, 0, 0, 0, 0, 0] + [0, 0, 1, 1, 0])
    targets = np.concatenate([videos["targets"][0], videos["targets"][2]])
    scores = np.concatenate([videos["scores"][0], videos["scores"][2]])
    row = _row(table, "condition", "A", True)
    _assert_row_matches(row, binary_metrics(targets, scores, expected))
    assert (row.tp, row.fp) == (2, 0)
    assert row.pr_auc == _row(table, "condition", "A", False).pr_auc


def test_evaluate_videos_names_the_offending_video():
    videos = _videos()
    videos["targets"][2] = np.array([0, 0, 1, 2, 0])
    with pytest.raises(ValueError, match="video 'a2': targets must be 0/1"):
        evaluate_videos(**videos, threshold=0.5, setting=PostProcessing())
    videos = _videos()
    videos["scores"][1] = videos["scores"][1][:3]
    with pytest.raises(ValueError, match="video 'b1': mismatched lengths"):
        evaluate_videos(**videos, threshold=0.5, setting=PostProcessing())


def test_evaluate_videos_rejects_inconsistent_lists():
    videos = _videos()
    videos["conditions"] = ["A", "B"]
    with pytest.raises(ValueError, match="mismatched lengths"):
        evaluate_videos(**videos, threshold=0.5, setting=PostProcessing())
    videos = _videos()
    videos["video_ids"] = ["a1", "b1", "a1"]
    with pytest.raises(ValueError, match="duplicate video ids: \\['a1'\\]"):
        evaluate_videos(**videos, threshold=0.5, setting=PostProcessing())
    with pytest.raises(ValueError, match="no videos"):
        evaluate_videos([], [], [], [], threshold=0.5, setting=PostProcessing())


def test_worst_condition_takes_the_minimum_and_skips_nan():
    videos = _videos()
    videos["video_ids"].append("c1")
    videos["conditions"].append("C")
    videos["targets"].append(np.zeros(3))  # no positives: PR-AUC is NaN
    videos["scores"].append(np.array([0.1, 0.2, 0.3]))
    table = evaluate_videos(**videos, threshold=0.5, setting=PostProcessing(min_bout_frames=2))
    conditions = table[(table.scope == "condition") & ~table.postprocessed].set_index("name")
    assert math.isnan(conditions.loc["C", "pr_auc"])
    assert worst_condition(table) == min(
        conditions.loc["A", "pr_auc"], conditions.loc["B", "pr_auc"]
    )
    post = table[(table.scope == "condition") & table.postprocessed]
    assert worst_condition(table, "f1", postprocessed=True) == post.f1.min()
    # ... and the skipped condition is named, not forgotten.
    evaluation = Evaluation("grooming", 0.5, table, *videos.values(), predicted=videos["scores"])
    assert evaluation.unmeasurable == ("C",)
    assert evaluation.summary()["not measurable"] == "C"


def test_worst_condition_is_nan_when_every_condition_is():
    table = evaluate_videos(
        ["v"], ["A"], [np.zeros(4)], [np.full(4, 0.2)], threshold=0.5, setting=PostProcessing()
    )
    assert math.isnan(worst_condition(table))


def test_worst_condition_rejects_unknown_metrics_and_empty_tables():
    table = evaluate_videos(**_videos(), threshold=0.5, setting=PostProcessing())
    with pytest.raises(ValueError, match="unknown metric 'auc'"):
        worst_condition(table, "auc")
    with pytest.raises(ValueError, match="no condition rows"):
        worst_condition(table[table.scope != "condition"])


def test_evaluation_report_names_unmeasurable_conditions():
    from ethoflow.evaluation.reports import evaluation_text

    rows = [
        {"head": "grooming", "version": "3", "worst_condition_pr_auc": 0.8, "not measurable": "C"},
        {"head": "rearing", "version": "3", "worst_condition_pr_auc": 0.9},
    ]
    first, second = evaluation_text(rows).splitlines()
    assert first.endswith("0.800 (not measurable in C)") and second.endswith("0.900")


# --- unknown frames (NaN targets) -------------------------------------------------------------


def _hidden_positives():
    """Two videos whose frames 6-11 are unknown; the truth there is all positive."""
    truth = [np.array([0, 1, 1, 0, 1, 0] + [1] * 6 + [0, 1]), np.array([1, 0, 0] + [1] * 6 + [0])]
    hidden = [np.zeros(14, bool), np.zeros(10, bool)]
    hidden[0][6:12] = True
    hidden[1][3:9] = True
    rng = np.random.default_rng(4)
    scores = [rng.random(14), rng.random(10)]
    return truth, hidden, scores


def test_unknown_frames_change_neither_threshold_nor_metrics_whatever_they_hide():
    truth, hidden, scores = _hidden_positives()
    setting = PostProcessing()
    groups = np.repeat(["A", "B"], [14, 10])
    results = []
    for hidden_value in (0.0, 1.0):
        known = [np.where(h, hidden_value, t) for t, h in zip(truth, hidden, strict=True)]
        targets = [np.where(h, np.nan, t) for t, h in zip(known, hidden, strict=True)]
        threshold = choose_threshold(np.concatenate(targets), np.concatenate(scores), groups)
        table = evaluate_videos(["a", "b"], ["A", "B"], targets, scores, threshold, setting)
        results.append((threshold, table))
    assert results[0][0] == results[1][0]
    pd.testing.assert_frame_equal(results[0][1], results[1][1])
    # The same as the labelled frames alone...
    labelled = [~h for h in hidden]
    alone = choose_threshold(
        np.concatenate([t[k] for t, k in zip(truth, labelled, strict=True)]),
        np.concatenate([s[k] for s, k in zip(scores, labelled, strict=True)]),
        groups[np.concatenate(labelled)],
    )
    assert results[0][0] == alone
    table = results[0][1]
    assert table.n_frames.tolist() == [8, 4, 8, 4, 12] * 2
    # ... and unlike counting them as negatives, which hides 12 positive frames.
    as_negatives = [np.where(h, 0, t) for t, h in zip(truth, hidden, strict=True)]
    negatives_table = evaluate_videos(["a", "b"], ["A", "B"], as_negatives, scores, alone, setting)
    assert negatives_table.n_frames.tolist() == [14, 10, 14, 10, 24] * 2
    assert not np.allclose(negatives_table.pr_auc, table.pr_auc)


def test_second_half_unknown_scores_as_the_first_half_alone():
    videos = _videos()
    rng = np.random.default_rng(2)
    halves = [np.r_[t, np.full(len(t), np.nan)] for t in videos["targets"]]
    scores = [np.r_[s, rng.random(len(s))] for s in videos["scores"]]
    ids, conditions = videos["video_ids"], videos["conditions"]
    unknown = evaluate_videos(ids, conditions, halves, scores, 0.5, PostProcessing())
    alone = evaluate_videos(**videos, threshold=0.5, setting=PostProcessing())
    pd.testing.assert_frame_equal(unknown, alone)
    # Smoothing runs on every frame's score, as labelling does: a bout may cross into the
    # unknown half, so only the raw rows must agree.
    smoothing = PostProcessing(median_frames=3, min_bout_frames=2)
    unknown = evaluate_videos(ids, conditions, halves, scores, 0.5, smoothing)
    alone = evaluate_videos(**videos, threshold=0.5, setting=smoothing)
    pd.testing.assert_frame_equal(unknown[~unknown.postprocessed], alone[~alone.postprocessed])
    assert choose_threshold(
        np.concatenate(halves), np.concatenate(scores), np.repeat(conditions, [12, 8, 10])
    ) == choose_threshold(
        np.concatenate(videos["targets"]),
        np.concatenate(videos["scores"]),
        np.repeat(conditions, [6, 4, 5]),
    )


def test_a_video_without_labelled_frames_is_unmeasured_not_zero():
    videos = _videos()
    videos["video_ids"].append("c1")
    videos["conditions"].append("C")
    videos["targets"].append(np.full(4, np.nan))
    videos["scores"].append(np.array([0.9, 0.8, 0.1, 0.2]))
    table = evaluate_videos(**videos, threshold=0.5, setting=PostProcessing())
    for scope, name in (("video", "c1"), ("condition", "C")):
        row = _row(table, scope, name, False)
        assert (row.n_frames, row.n_positive, row.tp, row.fp) == (0, 0, 0, 0)
        assert all(math.isnan(row[m]) for m in ("accuracy", "precision", "recall", "f1", "pr_auc"))
    # The pooled rows count the other videos' frames only.
    assert _row(table, "all", "all", False).n_frames == 15
    evaluation = Evaluation("grooming", 0.5, table, *videos.values(), predicted=videos["scores"])
    assert evaluation.unmeasurable == ("C",)
    assert set(evaluation.pooled_by_condition()) == {"A", "B", "C"}
    assert len(evaluation.pooled_by_condition()["C"][0]) == 0


def test_targets_other_than_0_1_or_unknown_are_refused():
    with pytest.raises(ValueError, match="targets must be 0/1, found \\[2.0\\]"):
        choose_threshold(np.array([0, 1, np.nan, 2]), np.linspace(0, 1, 4))


def test_the_metrics_report_says_how_many_frames_were_measured(tmp_path):
    import json

    from ethoflow.evaluation.reports import write_evaluation_report

    videos = _videos()
    videos["targets"][1] = np.array([1, np.nan, np.nan, 0])
    videos["video_ids"].append("c1")
    videos["conditions"].append("C")
    videos["targets"].append(np.full(3, np.nan))
    videos["scores"].append(np.array([0.9, 0.1, 0.2]))
    table = evaluate_videos(**videos, threshold=0.5, setting=PostProcessing())
    entry = {"head": "grooming", "architecture": "tcn", "model_version": 2}
    curves = pd.DataFrame(columns=["condition", "recall", "precision", "threshold"])
    metrics = write_evaluation_report([(entry, table, curves)], tmp_path)["grooming"]["tcn"]
    assert json.loads((tmp_path / "metrics.json").read_text())["grooming"]["tcn"] == metrics
    assert {name: metrics[name]["labelled_frames"] for name in ("A", "B", "C", "all")} == {
        "A": 11,
        "B": 2,
        "C": 0,
        "all": 13,
    }
    assert metrics["C"]["pr_auc"] is None and metrics["C"]["f1_pp"] is None
    assert metrics["worst_condition_pr_auc"] == min(metrics["A"]["pr_auc"], metrics["B"]["pr_auc"])
