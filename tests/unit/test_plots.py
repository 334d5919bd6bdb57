import numpy as np
import pandas as pd
import pytest

from ethoflow.config import PostProcessing
from ethoflow.evaluation.metrics import Evaluation, binary_metrics, evaluate_videos, pr_curve_points
from ethoflow.evaluation.plots import (
    evaluation_figures,
    plot_confusion_matrix,
    plot_ethogram,
    plot_pr_curves,
    plot_timeline,
    save_figure,
)

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _assert_png_alone(folder, path):
    assert path.read_bytes().startswith(PNG_MAGIC)
    assert path.stat().st_size > 1000
    # The atomic write leaves nothing but the figure behind.
    assert list(folder.iterdir()) == [path]


def _evaluation() -> Evaluation:
    """Three validation videos over conditions A, B and C (C without positive frames)."""
    ids, conditions = ["a1", "b1", "c1"], ["A", "B", "C"]
    targets = [np.array([0, 1, 1, 1, 0, 0]), np.array([1, 1, 0, 0]), np.zeros(3, int)]
    scores = [np.array([0.1, 0.8, 0.4, 0.9, 0.2, 0.7]), np.array([0.6, 0.5, 0.3, 0.2])]
    scores.append(np.array([0.1, 0.5, 0.2]))
    table = evaluate_videos(ids, conditions, targets, scores, 0.5, PostProcessing())
    predicted = [(s >= 0.5).astype(np.int8) for s in scores]
    return Evaluation("grooming", 0.5, table, ids, conditions, targets, scores, predicted)


def test_pr_curves_are_saved_as_png(tmp_path):
    figure = plot_pr_curves(_evaluation().pooled_by_condition(), title="grooming")
    assert "no positive frames: C" in figure.axes[0].get_title()
    assert len(figure.axes[0].get_lines()) == 2
    path = tmp_path / "pr.png"
    save_figure(figure, path)
    _assert_png_alone(tmp_path, path)


def test_pr_curve_points_are_the_curves_drawn():
    points = pr_curve_points(_evaluation())
    assert set(points.condition) == {"A", "B"}
    a = points[points.condition == "A"]
    # Recall falls from 1 to 0 along the curve; precision ends at 1 (no threshold there).
    assert a.recall.iloc[0] == 1 and a.recall.iloc[-1] == 0 and a.precision.iloc[-1] == 1


def test_confusion_matrix_shows_counts_with_true_class_by_row(tmp_path):
    metrics = binary_metrics(np.array([1, 1, 0, 0, 1]), np.full(5, 0.5), np.array([1, 0, 0, 1, 1]))
    figure = plot_confusion_matrix(metrics, title="rearing")
    texts = [text.get_text() for text in figure.axes[0].texts]
    assert texts == ["1", "1", "1", "2"]  # tn fp / fn tp
    assert "precision 0.67, recall 0.67" in figure.axes[0].get_title()
    path = tmp_path / "nested" / "confusion.png"
    save_figure(figure, path)
    _assert_png_alone(path.parent, path)


def test_timeline_is_saved_as_png_and_replaces_an_old_file(tmp_path):
    rng = np.random.default_rng(0)
    scores = rng.random(300)
    targets = (np.arange(300) % 100 < 30).astype(int)
    figure = plot_timeline(targets, scores, scores >= 0.5, fps=30.0, title="video a1")
    assert figure.axes[0].get_xlim() == (0.0, 10.0)
    path = tmp_path / "timeline.png"
    path.write_bytes(b"old")
    save_figure(figure, path)
    _assert_png_alone(tmp_path, path)


def test_timeline_rejects_bad_inputs():
    with pytest.raises(ValueError, match="fps must be positive"):
        plot_timeline(np.zeros(3), np.zeros(3), np.zeros(3), fps=0, title="x")
    with pytest.raises(ValueError, match="mismatched lengths"):
        plot_timeline(np.zeros(3), np.zeros(4), np.zeros(3), fps=30, title="x")


def test_an_evaluation_has_curves_a_matrix_per_condition_and_a_timeline_per_video():
    figures = evaluation_figures(_evaluation(), "ethoflow-grooming v1", fps=10.0)
    assert sorted(figures) == [
        "confusion_A.png",
        "confusion_B.png",
        "confusion_C.png",
        "pr_curves.png",
        "timeline_a1.png",
        "timeline_b1.png",
        "timeline_c1.png",
    ]


def test_plot_ethogram_has_bands_and_probability_lines():
    table = pd.DataFrame(
        {
            "time_s": np.arange(20) / 10,
            "grooming": [0, 1, 1, 0] * 5,
            "grooming_probability": np.linspace(0, 1, 20),
        }
    )
    figure = plot_ethogram(table, ["grooming"], 10, "test")
    lines, bands = figure.axes
    assert len(lines.get_lines()) == 1
    assert len(bands.collections) == 1
    assert [tick.get_text() for tick in bands.get_yticklabels()] == ["grooming"]
    # A partial label file: its unknown frames get a grey band of their own.
    partial = table.assign(grooming=pd.array([0, 1, 1, None] * 5, dtype="Int8"))
    _, bands = plot_ethogram(partial, ["grooming"], 10, "test").axes
    assert len(bands.collections) == 2
