"""Review answers: one reader for the answer file and the web UI's decisions, the partial labels
they give, and the simulated reviewer that answers the queue from the synthetic truth."""

import json
from pathlib import Path

import pandas as pd
import pytest

from ethoflow.errors import InputError
from ethoflow.labelling.review_queue import (
    DECISIONS_FILE,
    QUEUE_COLUMNS,
    Answer,
    Labelled,
    answered_labels,
    in_turns,
    read_answers,
)
from ethoflow.synth.reviewer import Truth, answer_queue, random_queue


def test_the_answer_file_and_the_ui_decisions_read_into_the_same_answers(tmp_path):
    answers = tmp_path / "answers.csv"
    answers.write_text(
        "video,head,start_s,end_s,value,reviewer\nm1,grooming,1.5,3.0,1,rita\nm1,rearing,0,1,0,\n"
    )
    review = tmp_path / "review" / "m1-0123abcd"
    review.mkdir(parents=True)
    (review / "m1.mp4").write_bytes(b"")
    decisions = [
        {"head": "grooming", "start": 15, "stop": 30, "start_s": 1.5, "end_s": 3.0, "value": 1,
         "was": 0, "reviewer": "rita", "decided_at": "2026-12-07T16:00:00+00:00"},
        {"head": "rearing", "start": 0, "stop": 10, "start_s": 0.0, "end_s": 1.0, "value": 0,
         "was": 1, "reviewer": "", "decided_at": "2026-12-07T16:01:00+00:00"},
    ]  # fmt: skip
    (review / DECISIONS_FILE).write_text(json.dumps(decisions))
    expected = [
        Answer("m1", "grooming", 1.5, 3.0, 1, "rita"),
        Answer("m1", "rearing", 0.0, 1.0, 0, ""),
    ]
    assert read_answers(answers) == expected
    assert read_answers(tmp_path / "review") == expected
    assert sum(a.seconds for a in expected) == 2.5


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("video,head,start_s,value\nm1,grooming,0,1\n", "missing column(s) end_s, reviewer"),
        ("video,head,start_s,end_s,value,reviewer\nm1,sniffing,0,1,1,r\n", "row 2: head"),
        ("video,head,start_s,end_s,value,reviewer\nm1,grooming,0,1,2,r\n", "row 2: value"),
        ("video,head,start_s,end_s,value,reviewer\nm1,grooming,2,1,1,r\n", "start_s < end_s"),
    ],
)
def test_a_bad_answer_file_is_refused_naming_it(tmp_path, text, problem):
    path = tmp_path / "answers.csv"
    path.write_text(text)
    with pytest.raises(InputError, match="answers.csv") as error:
        read_answers(path)
    assert problem in str(error.value)


def test_answers_are_the_only_known_frames_of_the_partial_labels():
    table = pd.DataFrame({"frame": range(0, 40, 2)})  # 20 fps video on a 10 fps clock
    labelled = Labelled(Path("m1"), table, {"clock_fps": 10.0})
    answers = [
        Answer("m1", "grooming", 0.5, 1.0, 1, "r"),
        Answer("m1", "rearing", 1.0, 1.2, 0, "r"),
        Answer("m1", "grooming", 0.8, 1.0, 0, "r"),  # a later answer overrides an earlier one
    ]
    labels = answered_labels(labelled, answers)
    assert labels.grooming.dtype == "Int8"
    known = labels.grooming.notna()
    assert labels.index[known].tolist() == [5, 6, 7, 8, 9]
    assert labels.grooming[known].tolist() == [1, 1, 1, 0, 0]
    assert labels.rearing.dropna().to_dict() == {10: 0, 11: 0}


def _queue(rows: list[tuple[str, str, float, float]]) -> pd.DataFrame:
    return pd.DataFrame(
        [(v, h, s, e, 0, 1.0, "") for v, h, s, e in rows], columns=list(QUEUE_COLUMNS)
    )


def test_the_simulated_reviewer_answers_in_order_by_majority_until_the_budget_is_spent():
    grooming = [0] * 10 + [1] * 10 + [0] * 10  # 3 s at 10 fps, grooming from 1 s to 2 s
    truth = {"m1": Truth(pd.DataFrame({"grooming": grooming, "rearing": [0] * 30}), 10.0)}
    queue = _queue(
        [
            ("m1", "grooming", 0.8, 1.9),  # 9 of 11 frames grooming: yes
            ("m1", "grooming", 0.0, 1.4),  # 4 of 14: no
            ("m1", "rearing", 0.0, 0.5),  # does not fit in what is left: the review stops
            ("m1", "rearing", 2.0, 2.1),
        ]
    )
    answers = answer_queue(queue, truth, minutes=2.8 / 60)
    assert [(a.head, a.start_s, a.value) for a in answers] == [
        ("grooming", 0.8, 1),
        ("grooming", 0.0, 0),
    ]
    assert answer_queue(queue, truth, minutes=1)[-1] == Answer(
        "m1", "rearing", 2.0, 2.1, 0, "simulated"
    )


def test_the_random_baseline_draws_stretches_of_the_same_lengths_with_its_seed():
    truth = {
        name: Truth(pd.DataFrame({"grooming": [0] * n, "rearing": [0] * n}), 10.0)
        for name, n in (("m1", 300), ("m2", 100))
    }
    queue = _queue([("m1", "grooming", 1.0, 2.5), ("m2", "rearing", 0.0, 0.4)] * 2)
    drawn = random_queue(queue, truth, seed=3, minutes=9.5 / 60)
    # The queue's lengths in order, again from its first, until the minutes are drawn.
    assert (drawn.end_s - drawn.start_s).round(2).tolist() == [1.5, 0.4] * 5
    assert drawn.equals(random_queue(queue, truth, seed=3, minutes=9.5 / 60))
    assert not drawn.equals(random_queue(queue, truth, seed=4, minutes=9.5 / 60))
    for row in drawn.itertuples():
        assert row.start_s >= 0 and row.end_s <= truth[row.video].seconds


def test_the_behaviours_take_turns_by_the_minutes_each_has_had():
    # Most unsure first: three rearing stretches, then grooming's; each behaviour keeps its own
    # order, and the next stretch is the one of the behaviour with the fewest seconds so far.
    heads = ["rearing", "rearing", "rearing", "grooming", "grooming"]
    seconds = [2.0, 1.0, 1.0, 3.0, 1.0]
    assert in_turns(heads, seconds) == [0, 3, 1, 2, 4]
    assert in_turns(["rearing"] * 3, [1.0] * 3) == [0, 1, 2]
