import numpy as np
import pandas as pd
import pytest

from ethoflow.data.split import split_recordings


def _recordings(counts: dict[str, int]) -> pd.DataFrame:
    rows = [
        {"video_id": f"{c}_{i}", "condition": c, "frames": 100 * (i + 1)}
        for c, n in counts.items()
        for i in range(n)
    ]
    return pd.DataFrame(rows)


def test_validation_holds_every_condition():
    recordings = _recordings({"a": 10, "b": 3, "c": 2, "d": 1})
    split = split_recordings(recordings, seed=1)
    conditions = recordings.set_index("video_id").condition
    assert set(conditions[split == "validation"]) == {"a", "b", "c", "d"}
    assert split.index.tolist() == recordings.video_id.tolist()


def test_two_videos_shorter_validates_other_trains():
    split = split_recordings(_recordings({"c": 2}))
    assert split.to_dict() == {"c_0": "validation", "c_1": "train"}


def test_few_videos_shortest_validates_second_tests():
    split = split_recordings(_recordings({"big": 6, "few": 3}))
    assert split[["few_0", "few_1", "few_2"]].tolist() == ["validation", "test", "train"]


def test_majority_condition_one_validation_rest_70_30():
    split = split_recordings(_recordings({"big": 11, "few": 3}), test_fraction=0.3, seed=5)
    big = split[split.index.str.startswith("big")]
    assert big.value_counts().to_dict() == {"train": 7, "test": 3, "validation": 1}


def test_deterministic_and_order_independent():
    recordings = _recordings({"a": 9, "b": 4, "c": 2})
    first = split_recordings(recordings, seed=3)
    shuffled = split_recordings(recordings.sample(frac=1, random_state=0), seed=3)
    assert first.to_dict() == shuffled.to_dict()
    assert split_recordings(recordings, seed=3).equals(first)


def test_majority_tie_broken_by_frames():
    recordings = _recordings({"a": 4, "b": 4})
    recordings.loc[recordings.condition == "b", "frames"] *= 3
    split = split_recordings(recordings, seed=0)
    # b is the majority (more frames): one validation, 70/30 of the other three.
    assert split[split.index.str.startswith("b")].value_counts().to_dict() == {
        "train": 2,
        "test": 1,
        "validation": 1,
    }
    assert split[["a_0", "a_1"]].tolist() == ["validation", "test"]


@pytest.mark.parametrize(
    ("table", "kwargs", "problem"),
    [
        (pd.DataFrame({"video_id": ["x"], "frames": [1]}), {}, r"lack column\(s\) \['condition'\]"),
        (_recordings({"a": 2}).assign(video_id="same"), {}, "video ids must be unique"),
        (_recordings({"a": 2}), {"test_fraction": 1.0}, "test_fraction must be between"),
    ],
)
def test_bad_input(table, kwargs, problem):
    with pytest.raises(ValueError, match=problem):
        split_recordings(table, **kwargs)


def test_validation_gets_a_video_showing_every_behaviour_in_each_condition():
    """A behaviour absent from a condition's validation video cannot be measured there."""
    recordings = pd.DataFrame(
        {
            "video_id": ["a1", "a2", "b1", "b2", "b3", "c1", "c2", "c3", "c4", "c5"],
            "condition": ["a", "a", "b", "b", "b", "c", "c", "c", "c", "c"],
            "frames": [100, 200, 100, 150, 300, 100, 110, 120, 130, 140],
            "grooming": [0, 5, 0, 7, 9, 0, 3, 0, 4, 2],
            "rearing": [3, 2, 0, 0, 6, 1, 2, 3, 5, 6],
        }
    )
    split = split_recordings(recordings, seed=3, behaviours=("grooming", "rearing"))
    # Per condition, a video showing both (the shortest, or drawn in the majority condition).
    assert split["a2"] == split["b3"] == "validation"
    (majority,) = split[split.index.str.startswith("c") & (split == "validation")].index
    assert majority in {"c2", "c4", "c5"}
    # Next best to test: b2 shows grooming, b1 nothing.
    assert split["b2"] == "test" and split["b1"] == "train"
    training = recordings[(split == "train").to_numpy()]
    assert (training.grooming > 0).any() and (training.rearing > 0).any()
    # Without behaviour columns: lengths alone, as before.
    plain = split_recordings(recordings.drop(columns=["grooming", "rearing"]), seed=3)
    assert plain["a1"] == "validation" and plain["b1"] == "validation"
    with pytest.raises(ValueError, match=r"lack behaviour column\(s\) \['walking'\]"):
        split_recordings(recordings, behaviours=("walking",))


def test_training_keeps_every_behaviour_before_validation_measures_it():
    """A small lab where only one video per condition grooms: training needs one of them."""
    recordings = pd.DataFrame(
        {
            "video_id": ["a1", "a2", "b1", "b2"],
            "condition": ["a", "a", "b", "b"],
            "frames": [100, 200, 100, 200],
            "grooming": [0, 5, 0, 4],
            "rearing": [3, 2, 1, 2],
        }
    )
    split = split_recordings(recordings, behaviours=("grooming", "rearing"))
    assert split.to_dict() == {"a1": "validation", "a2": "train", "b1": "validation", "b2": "train"}


def test_assign_splits_counts_labelled_frames_and_positives_on_the_kept_frames(tmp_path):
    from ethoflow.config import Settings
    from ethoflow.data.ingest import Recording, assign_splits
    from ethoflow.io.video import VideoInfo

    # Two recordings of one condition: the first goes to validation, the other to training,
    # ordered by the labelled frames they hold after fps standardisation. "long" has 400 frames
    # at 20 fps (200 kept at 10 fps) but labels only its first 200 (100 kept); "short" has 120
    # frames at 10 fps, its first 110 labelled. By length, or by labelled rows at the source rate,
    # "short" would be the one to validate on. (Both are partially labelled: a fully labelled one
    # would validate first.)
    def write(name: str, labelled: int, unknown: int) -> Recording:
        path = tmp_path / f"{name}.csv"
        pattern = np.resize([0, 0, 1, 1, 0, 1, 0, 0, 1, 0], labelled).tolist()
        table = {"Grooming": pattern, "Rearing": pattern[::-1]}
        pd.DataFrame(table).reindex(range(labelled + unknown)).to_csv(path, index=False)
        return Recording(name, "a", tmp_path / f"{name}.mp4", path)

    recordings = [write("long", 200, 200), write("short", 110, 10)]
    videos = {
        "long": VideoInfo(tmp_path / "long.mp4", 20.0, 400, 64, 48),
        "short": VideoInfo(tmp_path / "short.mp4", 10.0, 120, 64, 48),
    }
    split = assign_splits(recordings, videos, Settings())
    assert split.to_dict() == {"long": "validation", "short": "train"}


def test_a_fully_labelled_recording_validates_its_condition_before_partial_ones():
    """Review answers (partial labels) never judge a set-up that has a fully labelled video."""
    recordings = _recordings({"big": 5, "new": 3}).assign(partial=True)
    full = recordings.video_id.isin(["new_2", "big_4"])
    recordings.loc[full, "partial"] = False
    split = split_recordings(recordings)
    assert split["new_2"] == "validation" and split["big_4"] == "validation"
    assert (split[recordings.video_id[recordings.partial]] != "validation").all()
    # Without a fully labelled one, a partial recording still validates its condition.
    alone = split_recordings(_recordings({"new": 2}).assign(partial=True))
    assert (alone == "validation").sum() == 1
