"""The review loop, measured: how many minutes of answered review stretches it takes before the
new camera set-up (``ethoflow.synth.conditions.NEW_SETUP``) is labelled well, the review queue's
choice of stretches against stretches chosen at random.

Run after ``make demo``, in the same folder (it uses the champions in ``mlflow/``, the demo lab's
ingested features in ``paths.features`` and the settings of ``params.yaml``)::

    .venv/bin/python bench/bench_adapt.py            # budgets 1, 2, 5, 10, 20 min; seeds 1, 2
    .venv/bin/python bench/bench_adapt.py --quick    # budgets 1 and 5 min; seed 1

It draws ``--review`` + ``--held-out`` recordings of the new set-up (seed ``seed + 2000``: none
is a lab, inbox or ``bench_new_setup`` recording), featurises each once as ingest does, and
labels the review recordings with the champions to rank their stretches
(:func:`ethoflow.labelling.review_queue.review_stretches`, the adapt flow's queue). Per seed and
strategy, the simulated reviewer (:mod:`ethoflow.synth.reviewer`) answers the queue, or the same
lengths of random stretches, for each cumulative budget; after each round the round's models
label the review recordings again and rank the stretches not yet answered, as the adapt flow's
next round would. The answers become partial labels
(every unanswered frame unknown) and each head is retrained in ONE fit
(:func:`ethoflow.training.fit.train_head`) with its champion's architecture and
hyper-parameters, on the lab's training split plus the answered recordings, early-stopped on the
lab's test split plus the answered recordings. The threshold is chosen as the evaluation flow
chooses it (:func:`ethoflow.evaluation.metrics.evaluate_model`: the cut best in the test split's
worst set-up), and post-processed F1 is measured on the new set-up's held-out recordings and on
the lab's validation split (the trained set-ups: nothing forgotten). The ``adapt`` flow runs a
full Optuna search per round instead; that is ~``n_trials × architectures`` fits per head and
round, too slow for 20 rounds on 2 cores.

Results go to ``bench/results/adapt.{json,md,png}`` and ``bench/results/history/adapt.md``.
"""

from __future__ import annotations

import argparse
import json
import pickle
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
from benchlib import git_commit, machine, write_results

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
SEED_OFFSET = 2000  # recordings apart from the lab's, the inbox's and bench_new_setup's
BUDGETS = (1.0, 2.0, 5.0, 10.0, 20.0)
QUICK_BUDGETS = (1.0, 5.0)
TARGET_F1 = 0.90
STRATEGIES = ("queue", "random")


@dataclass(frozen=True)
class Pool:
    """The new set-up's recordings, featurised: the review ones (labelled by the champions, for
    the queue) and the held-out ones (fully labelled, to judge)."""

    review: dict  # video id → Labelled
    features: dict[str, np.ndarray]  # video id → features per clock row
    truth: dict  # video id → Truth on the clock rows
    held_out: object  # Split of the held-out recordings, fully labelled
    tracks: dict[str, pd.DataFrame]  # video id → its track on the clock rows


def _hp_value(text: str) -> object:
    """An MLflow param (a string) back as the bool, int or float it was logged from."""
    if text in ("True", "False"):
        return text == "True"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def champion_hp(head) -> tuple[str, dict]:
    """The champion version's architecture and hyper-parameters, from its run in the registry."""
    from mlflow import MlflowClient

    client = MlflowClient()
    version = client.get_model_version(head.model_name, head.version)
    assert version.run_id is not None
    params = client.get_run(version.run_id).data.params
    return version.tags["architecture"], {k: _hp_value(v) for k, v in params.items()}


def draw_pool(settings, heads, folder: Path, review: int, held_out: int) -> Pool:
    """Draw, featurise (as ingest does) and champion-label the new set-up's recordings."""
    from ethoflow.features.featurization import Featurization
    from ethoflow.synth.conditions import NEW_SETUP
    from ethoflow.synth.lab import synthesize_lab
    from ethoflow.synth.recording import truth_labels
    from ethoflow.synth.reviewer import Truth
    from ethoflow.training.fit import Split

    raw, truth_dir = folder / "raw", folder / "truth"
    inventory = synthesize_lab(
        raw,
        truth_dir,
        videos_per_condition=review + held_out,
        minutes=settings.synth.minutes,
        seed=settings.seed + SEED_OFFSET,
        light_mouse_fraction=settings.synth.light_mouse_fraction,
        conditions=(NEW_SETUP,),
        workers=settings.synth.workers,
    )
    featurization = Featurization.from_settings(settings)
    extractor = featurization.build_extractor()
    clock_fps = settings.ingest.target_fps
    features, truth, tracks, kept = {}, {}, {}, []
    for index, row in enumerate(inventory.itertuples()):
        video = raw / NEW_SETUP.name / f"{row.video_id}.mp4"
        print(f"featurising {row.video_id}", flush=True)
        result = featurization.featurize_video(video, extractor)
        labels = truth_labels(pd.read_csv(truth_dir / f"{row.video_id}.csv"))
        keep = result.track.frame.to_numpy() < len(labels)  # as ingest keeps them
        track = result.track[keep].reset_index(drop=True)
        rows = labels.iloc[track.frame].reset_index(drop=True)
        video_features = result.features[keep]
        if index >= review:
            kept.append((row.video_id, video_features, rows))
            continue
        features[row.video_id] = video_features
        tracks[row.video_id] = track
        truth[row.video_id] = Truth(rows, clock_fps)
    held = Split(
        video_ids=[v for v, _, _ in kept],
        conditions=[NEW_SETUP.name] * len(kept),
        features=[f for _, f, _ in kept],
        labels=[r for _, _, r in kept],
    )
    pool = Pool({}, features, truth, held, tracks)
    pool.review.update(label_pool(pool, heads, settings, folder))
    return pool


def kept_pool(path: Path | None, review: int, held_out: int) -> Pool | None:
    """The pool kept in ``path`` by an earlier run with the same numbers of recordings (None:
    none kept). Drawing is deterministic (the settings' seed); only its time is saved."""
    if path is None or not path.is_file():
        return None
    pool = pickle.loads(path.read_bytes())
    if (len(pool.features), len(pool.held_out.video_ids)) != (review, held_out):
        raise SystemExit(f"{path}: a pool of other sizes; remove it or name another file")
    print(f"recordings from {path}", flush=True)
    return pool


def label_pool(pool: Pool, heads: dict, settings, folder: Path) -> dict:
    """The review recordings labelled by ``heads`` (what the queue ranks)."""
    from ethoflow.labelling.recording import label_table, predict_video
    from ethoflow.labelling.review_queue import Labelled

    clock_fps = settings.ingest.target_fps
    labelled = {}
    for video_id, features in pool.features.items():
        predictions = predict_video(features, heads, settings.postprocess)
        summary = {
            "video_id": video_id,
            "heads": list(heads),
            "clock_fps": clock_fps,
            "source": str(folder / f"{video_id}.mp4"),
            "models": {h.head: {"threshold": h.threshold} for h in heads.values()},
        }
        table = label_table(pool.tracks[video_id], clock_fps, predictions)
        labelled[video_id] = Labelled(folder, table, summary)
    return labelled


def ranked_queue(labelled: dict, answers: list) -> pd.DataFrame:
    """The review queue over ``labelled``, without stretches that overlap one answered before."""
    from ethoflow.labelling.review_queue import queue_table, review_stretches

    queue = queue_table({v: review_stretches(r, limit=None) for v, r in labelled.items()})
    if not answers:
        return queue
    done = pd.DataFrame(
        [(a.video, a.head, a.start_s, a.end_s) for a in answers],
        columns=["video", "head", "start_s", "end_s"],
    )
    overlaps = queue.merge(done, on=["video", "head"], suffixes=("", "_done"))
    overlaps = overlaps[
        (overlaps.start_s < overlaps.end_s_done) & (overlaps.start_s_done < overlaps.end_s)
    ]
    seen = set(zip(overlaps.video, overlaps["head"], overlaps.start_s, strict=True))
    keep = [k not in seen for k in zip(queue.video, queue["head"], queue.start_s, strict=True)]
    return queue[keep]


def joined(*splits):
    """Several splits as one."""
    from ethoflow.training.fit import Split

    return Split(
        video_ids=[v for s in splits for v in s.video_ids],
        conditions=[c for s in splits for c in s.conditions],
        features=[f for s in splits for f in s.features],
        labels=[t for s in splits for t in s.labels],
    )


def answered_split(pool: Pool, answers: list):
    """The answered review recordings with their partial labels (unanswered frames unknown)."""
    from ethoflow.labelling.review_queue import answered_labels
    from ethoflow.synth.conditions import NEW_SETUP
    from ethoflow.training.fit import Split

    videos = sorted({a.video for a in answers})
    return Split(
        video_ids=[f"answered_{v}" for v in videos],
        conditions=[NEW_SETUP.name] * len(videos),
        features=[pool.features[v] for v in videos],
        labels=[
            answered_labels(pool.review[v], [a for a in answers if a.video == v]) for v in videos
        ],
    )


def setup_f1(
    model, window: int, head: str, test, validation, settings
) -> tuple[dict[str, float], float]:
    """Post-processed F1 per set-up of ``validation``, and the threshold chosen on ``test``."""
    from ethoflow.evaluation.metrics import evaluate_model
    from ethoflow.labelling.adaptation import condition_scores

    evaluation = evaluate_model(model, window, head, test, validation, settings.postprocess)
    scores = condition_scores(evaluation.table)
    f1 = {setup: float(s.get("f1") or 0.0) for setup, s in scores.items()}
    return f1, evaluation.threshold


def run(
    settings,
    heads,
    pool: Pool,
    queue: pd.DataFrame,
    lab: dict,
    budgets,
    seeds,
    folder: Path,
    seed_done: Callable[[list[dict], list[float]], None],
) -> None:
    """Round 0 (the champions) then every (seed, strategy, budget) round: one row per head,
    handed to ``seed_done`` with the fits' seconds so far after each seed (results are kept as
    they come: a run cut short keeps its finished seeds).

    ``queue``: each round's models label the review recordings again and rank the stretches
    not yet answered (as the adapt flow's next round would); ``random``: stretches of the
    champions' queue's lengths at random places, as many as the largest budget takes."""
    from dataclasses import replace

    from ethoflow.synth.reviewer import answer_queue, random_queue
    from ethoflow.training.fit import Budget, train_head

    validation = joined(pool.held_out, lab["validation"])
    rows, fit_seconds = [], []
    for head in heads.values():
        scores, _ = setup_f1(head.model, head.window, head.head, lab["test"], validation, settings)
        rows.append(
            {"seed": 0, "strategy": "champion", "budget": 0.0, "minutes": 0.0}
            | {
                "stretches": 0,
                "head": head.head,
                "answered_share": 0.0,
                "epochs": 0,
                "fit_s": 0.0,
                **scores,
            }
        )
    demo = settings.demo
    for seed in seeds:
        baseline = random_queue(queue, pool.truth, seed, max(budgets))
        for strategy in STRATEGIES:
            answers: list = []
            current = dict(heads)
            for minutes in budgets:
                reviewed = sum(a.seconds for a in answers) / 60
                if strategy == "queue":
                    ranked = ranked_queue(label_pool(pool, current, settings, folder), answers)
                    answers = answers + answer_queue(ranked, pool.truth, minutes - reviewed)
                else:
                    answers = answer_queue(baseline, pool.truth, minutes)
                if sum(a.seconds for a in answers) / 60 <= reviewed + 1e-9 and reviewed > 0:
                    print(
                        f"{strategy} {minutes:g} min: nothing more to review, skipped", flush=True
                    )
                    continue
                answered = answered_split(pool, answers)
                train = joined(lab["train"], answered)
                test = joined(lab["test"], answered)
                reviewed = sum(a.seconds for a in answers) / 60
                for head in heads.values():
                    architecture, hp = champion_hp(head)
                    budget = Budget(
                        max_epochs=demo.max_epochs or settings.train.max_epochs,
                        patience=demo.patience or settings.train.patience,
                        stride_fraction=settings.train.stride_fraction,
                        seed=settings.seed + seed,
                    )
                    started = time.perf_counter()
                    model, _, epoch = train_head(architecture, hp, train, test, head.head, budget)
                    fit_seconds.append(time.perf_counter() - started)
                    window = int(hp["window"])
                    known = [int(np.isfinite(t).sum()) for t in train.targets(head.head)]
                    answered_frames = sum(known[len(lab["train"].video_ids) :])
                    scores, threshold = setup_f1(
                        model, window, head.head, test, validation, settings
                    )
                    current[head.head] = replace(
                        head, model=model, window=window, threshold=threshold
                    )
                    row = {
                        "seed": seed,
                        "strategy": strategy,
                        "budget": minutes,
                        "minutes": round(reviewed, 3),
                        "stretches": len(answers),
                        "head": head.head,
                        "answered_share": round(answered_frames / sum(known), 4),
                        "epochs": epoch + 1,
                        "fit_s": round(fit_seconds[-1], 1),
                        **scores,
                    }
                    rows.append(row)
                    print(json.dumps(row), flush=True)
        seed_done(rows, fit_seconds)


def minutes_to_target(table: pd.DataFrame, setup: str) -> dict[str, dict]:
    """Per head and strategy: the fewest minutes at which the seeds' mean new-set-up F1 reaches
    :data:`TARGET_F1` (None: never), and the best mean F1 with its minutes."""
    found: dict[str, dict] = {}
    rounds = table[table.strategy.isin(STRATEGIES)]
    means = rounds.groupby(["head", "strategy", "budget"], as_index=False)[
        [setup, "minutes"]
    ].mean()
    for (head, strategy), group in means.groupby(["head", "strategy"]):
        reached = group[group[setup] >= TARGET_F1]
        best = group.loc[group[setup].idxmax()]
        found.setdefault(str(head), {})[str(strategy)] = {
            "minutes": float(reached.minutes.min()) if len(reached) else None,
            "best_f1": float(best[setup]),
            "best_minutes": float(best.minutes),
        }
    return found


def plot(table: pd.DataFrame, setup: str, path: Path) -> None:
    """Minutes reviewed vs the new set-up's held-out F1, per head: queue vs random, one line per
    seed, the champions' F1 at 0 minutes."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    heads = sorted(table["head"].unique())
    figure, axes = plt.subplots(1, len(heads), figsize=(5 * len(heads), 4), sharey=True)
    colours = {"queue": "tab:blue", "random": "tab:orange"}
    for axis, head in zip(np.atleast_1d(axes), heads, strict=True):
        mine = table[table["head"] == head]
        start = float(mine[mine.strategy == "champion"][setup].iloc[0])
        for (strategy, seed), group in mine[mine.strategy.isin(STRATEGIES)].groupby(
            ["strategy", "seed"]
        ):
            axis.plot(
                [0.0, *group.minutes],
                [start, *group[setup]],
                marker="o",
                color=colours[str(strategy)],
                linestyle="-" if seed == 1 else "--",
                label=f"{strategy}, seed {seed}",
            )
        axis.axhline(TARGET_F1, color="grey", linewidth=0.8, linestyle=":")
        axis.set_title(f"{head} on {setup}")
        axis.set_xlabel("minutes of video reviewed")
        axis.set_ylim(0, 1)
        axis.grid(alpha=0.3)
    np.atleast_1d(axes)[0].set_ylabel("held-out F1 (post-processed)")
    np.atleast_1d(axes)[0].legend(loc="lower right", fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def markdown(result: dict) -> str:
    """The results page: when, where, how, the table and the minutes to F1 0.90."""
    table = pd.DataFrame(result["rounds"])
    setup = result["setup"]
    lab_setups = result["lab_setups"]
    champion = table[table.strategy == "champion"].set_index("head")
    lines = [
        "# The review loop on a new camera set-up, measured",
        "",
        f"`{result['command']}` on {result['date']}, commit {result['commit']}, "
        f"{result['machine']['cpu']} ({result['machine']['cores']} cores, load before "
        f"{result['machine']['load_before'][0]}), {result['runtime_s'] / 60:.1f} min; "
        f"one fit {result['fit_s_mean']:.0f} s on average.",
        "",
        f"Set-up `{setup}`: {result['review_videos']} recordings of {result['minutes']:g} min to "
        f"review, {result['held_out_videos']} held out; the champions' queue ranks "
        f"{result['queue']['stretches']} stretches, {result['queue']['minutes']:.1f} min of "
        "video (both heads; the random stretches take its lengths); each round's models rank the "
        "stretches not yet answered anew, until none is left. "
        "Champions: "
        + ", ".join(
            f"{h} v{v['version']} ({v['architecture']})" for h, v in result["champions"].items()
        )
        + ".",
        "",
        "Each round retrains each head in one fit with its champion's architecture and "
        "hyper-parameters (fixed), on the lab's training split plus the answered recordings "
        "(unanswered frames unknown), early-stopped and thresholded on the lab's test split plus "
        "the answered recordings; the `adapt` flow runs the full Optuna search per round "
        "instead, which is too slow to repeat for every budget, strategy and seed on 2 cores. "
        "The queue is ranked by the champions, then by each round's models over the stretches "
        "not yet answered; random: the champions' queue's stretch lengths at random places "
        "(`ethoflow.synth.reviewer.random_queue`). F1 is "
        "post-processed, frames of the held-out recordings pooled; the trained set-ups' F1 is on "
        "the lab's validation split, the change the worst over them against the champion.",
        "",
        "| seed | strategy | budget (min) | reviewed (min) | stretches | behaviour | "
        f"answered share of training frames | {setup} F1 | trained set-ups: worst F1 change |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in table.to_dict("records"):
        change = min(r[s] - champion.loc[r["head"], s] for s in lab_setups)
        lines.append(
            f"| {r['seed'] or '–'} | {r['strategy']} | {r['budget']:g} | {r['minutes']:.2f} | "
            f"{r['stretches']} | {r['head']} | {r['answered_share']:.1%} | **{r[setup]:.2f}** | "
            f"{change:+.3f} |"
        )
    lines += ["", f"Minutes of review to reach held-out F1 {TARGET_F1} (mean over seeds):", ""]
    for head, by in result["to_target"].items():
        queue, random = by["queue"], by["random"]
        if queue["minutes"] is not None and random["minutes"] is not None:
            verdict = (
                f"queue {queue['minutes']:.2f} min, random {random['minutes']:.2f} min: "
                f"random needs **{random['minutes'] / queue['minutes']:.1f}×** the queue's"
            )
        elif queue["minutes"] is not None:
            verdict = (
                f"queue {queue['minutes']:.2f} min; random does not reach it (best "
                f"{random['best_f1']:.2f} at {random['best_minutes']:.2f} min)"
            )
        else:
            verdict = "neither reaches it" if random["minutes"] is None else "only random does"
            verdict += (
                f"; best F1 queue {queue['best_f1']:.2f} at {queue['best_minutes']:.2f} min, "
                f"random {random['best_f1']:.2f} at {random['best_minutes']:.2f} min"
            )
        lines.append(f"- {head}: {verdict}")
    lines += ["", "![minutes reviewed vs F1](adapt.png)"]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--params", type=Path, default=ROOT / "params.yaml")
    parser.add_argument("--quick", action="store_true", help="budgets 1 and 5 min, seed 1")
    parser.add_argument("--review", type=int, default=6, help="recordings to review")
    parser.add_argument("--held-out", type=int, default=3, help="recordings held out")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument(
        "--pool",
        type=Path,
        help="keep the drawn, featurised recordings in this file; a re-run with the same sizes "
        "reuses them (drawing 34 recordings takes 10-40 min on 2 cores)",
    )
    args = parser.parse_args()

    from ethoflow.config import load_settings
    from ethoflow.labelling.review_queue import queue_table, review_stretches
    from ethoflow.mlops.champions import champions_for_labelling
    from ethoflow.synth.conditions import NEW_SETUP
    from ethoflow.training.fit import load_split

    started = time.perf_counter()
    host = machine()
    settings = load_settings(args.params)
    heads = champions_for_labelling(settings)
    budgets, seeds = (QUICK_BUDGETS, [1]) if args.quick else (BUDGETS, args.seeds)
    lab = {s: load_split(settings.paths.features, s) for s in ("train", "test", "validation")}
    with tempfile.TemporaryDirectory(prefix="bench_adapt_") as work:
        pool = kept_pool(args.pool, args.review, args.held_out)
        if pool is None:
            pool = draw_pool(settings, heads, Path(work), args.review, args.held_out)
            if args.pool:
                args.pool.write_bytes(pickle.dumps(pool))
        else:
            pool.review.clear()
            pool.review.update(label_pool(pool, heads, settings, Path(work)))
        queue = queue_table({v: review_stretches(r, limit=None) for v, r in pool.review.items()})
        print(f"queue: {len(queue)} stretches, {(queue.end_s - queue.start_s).sum() / 60:.1f} min")
        commit = git_commit(ROOT)
        found: dict = {}

        def seed_done(rows: list[dict], fit_seconds: list[float]) -> None:
            table = pd.DataFrame(rows)
            found["result"] = {
                "benchmark": "the review loop on a new camera set-up",
                "command": " ".join(["python", "bench/bench_adapt.py", *sys.argv[1:]]),
                "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
                "commit": commit,
                "machine": host,
                "runtime_s": round(time.perf_counter() - started, 1),
                "fit_s_mean": float(np.mean(fit_seconds)),
                "setup": NEW_SETUP.name,
                "lab_setups": sorted(set(lab["validation"].conditions)),
                "review_videos": args.review,
                "held_out_videos": args.held_out,
                "minutes": settings.synth.minutes,
                "queue": {
                    "stretches": len(queue),
                    "minutes": float((queue.end_s - queue.start_s).sum() / 60),
                },
                "champions": {
                    h.head: {"version": h.version, "architecture": champion_hp(h)[0]}
                    for h in heads.values()
                },
                "to_target": minutes_to_target(table, NEW_SETUP.name),
                "rounds": rows,
            }
            args.out.mkdir(parents=True, exist_ok=True)
            (args.out / "adapt.json").write_text(json.dumps(found["result"], indent=2) + "\n")
            plot(table, NEW_SETUP.name, args.out / "adapt.png")
            (args.out / "adapt.md").write_text(markdown(found["result"]))

        run(settings, heads, pool, queue, lab, budgets, seeds, Path(work), seed_done)
    text = markdown(found["result"])
    write_results(args.out, "adapt", found["result"], text, "The review loop, run by run")
    print(text, flush=True)


if __name__ == "__main__":
    main()
