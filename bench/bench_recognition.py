"""Leave-one-condition-out recognition benchmark: how well labels transfer to an unseen camera.

A seeded synthetic lab with all four camera conditions (the three training ones and condition_4,
the demo's held-out set-up) is featurised once per feature set with the project's own ingest path
(``featurize_recording``: decode → 10 fps → track → crop → ResNet50 and/or posture; no
augmentation). Then, for each condition in turn, one TCN per behaviour head is trained on the
other three conditions with fixed hyper-parameters (no Optuna search), and the held-out
condition's recordings are labelled and scored:

- fixed hyper-parameters from ``params.yaml``'s ``train.search_space``: the first value of each
  list, the middle of each range (geometric for units and learning rate, which the search draws on
  a log scale), passed through ``suggest_hp`` so they are exactly what a search trial would use;
- ``train_head`` needs a split to stop early on: per training condition, the video that
  ``split_recordings`` would give to validation (one showing the behaviour) is the stopping split,
  the rest is fitted; ``evaluate_model`` then chooses the F1-best threshold on that stopping split
  (as ``ethoflow evaluate`` does on the test split) and scores the held-out condition after the
  ``postprocess`` smoothing of ``params.yaml``;
- reported per feature set × held-out condition × behaviour: precision, recall and F1 of the
  post-processed per-frame labels and PR-AUC of the probabilities (frames of the condition's
  videos pooled: ``evaluate_videos``' "all" row), plus the worst held-out condition.

Everything is seeded (lab, random ResNet weights, Keras, TensorFlow ops made deterministic), so a
re-run prints the same table. Results go to ``bench/results/recognition[_quick].{json,md}``.

    .venv/bin/python bench/bench_recognition.py --quick   # 2 videos × 0.5 min per condition
    .venv/bin/python bench/bench_recognition.py           # 4 videos × 1 min per condition
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

# Before TensorFlow is imported (by the first Keras use): as the CLI does, keep its C++ chatter
# (CUDA probing, a tf.data attribute it "ignores" on every fit) out of the log.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
import pandas as pd
from benchlib import machine

from ethoflow.config import Settings, load_settings

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
FEATURE_SETS = {
    # name → features.* overrides. The silhouette alone (the blob's area, length, width,
    # elongation and speed) is the baseline a lab would try first; the default adds motion inside
    # the body; the design's ResNet50 crops (random weights offline) on top of both.
    "silhouette": {"cnn": False, "posture": True, "motion": False},
    "silhouette+motion": {"cnn": False, "posture": True, "motion": True},
    "resnet+silhouette+motion": {"cnn": True, "posture": True, "motion": True},
}
ARCHITECTURE = "tcn"  # the only architecture promotion considers (promote.architecture)
LOG_SCALE = {"units", "learning_rate"}  # as suggest_hp draws them
QUICK = {"videos_per_condition": 2, "minutes": 0.5, "max_epochs": 5, "patience": 2}


def say(message: str) -> None:
    """Progress on stderr, so stdout holds only the results."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def fixed_hp(settings: Settings) -> dict[str, Any]:
    """One TCN configuration from the search space: first of each list, middle of each range."""
    from optuna.trial import FixedTrial

    from ethoflow.training.search import suggest_hp

    space = settings.train.search_space
    chosen: dict[str, Any] = {}
    for name, value in space.model_dump().items():
        if isinstance(value, list):
            chosen[name] = value[0]
            continue
        low, high = value
        middle = math.sqrt(low * high) if name in LOG_SCALE else (low + high) / 2
        is_int = isinstance(low, int) and isinstance(high, int)
        # Integer ranges round down (dilation depth 3-6 → 4: a receptive field of 31 frames,
        # about the first window's 32).
        chosen[name] = (round(middle) if name in LOG_SCALE else int(middle)) if is_int else middle
    # suggest_hp on a FixedTrial: exactly the keys (and checks) a search trial would have.
    return suggest_hp(FixedTrial(chosen), ARCHITECTURE, space)


# --- the lab and its features -------------------------------------------------------------------


def make_lab(
    settings: Settings, workdir: Path, videos: int, minutes: float, seed: int
) -> pd.DataFrame:
    """Every camera condition of the lab into ``workdir/raw``; reused when made with the same
    set-up."""
    from ethoflow.synth.conditions import CONDITIONS, HELD_OUT_CONDITION
    from ethoflow.synth.lab import synthesize_lab

    conditions = (*CONDITIONS, HELD_OUT_CONDITION)
    setup = {
        "videos_per_condition": videos,
        "minutes": minutes,
        "seed": seed,
        "light_mouse_fraction": settings.synth.light_mouse_fraction,
        "conditions": [c.name for c in conditions],
    }
    stamp = workdir / "lab.json"
    if stamp.is_file() and json.loads(stamp.read_text()) == setup:
        say(f"lab: reusing {workdir / 'raw'}")
        return pd.read_csv(workdir / "truth" / "lab.csv")
    # A lab of another set-up would leave recordings behind that discovery would pick up.
    for folder in ("raw", "truth", "features"):
        shutil.rmtree(workdir / folder, ignore_errors=True)
    say(f"lab: synthesising {videos} × {minutes:g} min per condition into {workdir / 'raw'}")
    inventory = synthesize_lab(
        workdir / "raw",
        workdir / "truth",
        videos_per_condition=videos,
        minutes=minutes,
        seed=seed,
        light_mouse_fraction=settings.synth.light_mouse_fraction,
        conditions=conditions,
    )
    stamp.write_text(json.dumps(setup))
    return inventory


def with_features(settings: Settings, feature_set: str) -> Settings:
    """``settings`` with the feature set's ``features.*`` overrides (validated by the model)."""
    features = settings.features.model_validate(
        settings.features.model_dump() | FEATURE_SETS[feature_set]
    )
    return settings.model_copy(update={"features": features})


def featurise(
    settings: Settings, recordings: list, out_dir: Path
) -> dict[str, tuple[np.ndarray, pd.DataFrame]]:
    """video id → (features, aligned labels), through ingest's own per-recording step."""
    from ethoflow.data.ingest import featurize_recording
    from ethoflow.features.featurization import Featurization

    featurization = Featurization.from_settings(settings)
    extractor = featurization.build_extractor()
    out_dir.mkdir(parents=True, exist_ok=True)
    data = {}
    for recording in recordings:
        record = featurize_recording(
            recording,
            out_dir,
            featurization=featurization,
            extractor=extractor,
            augment=None,  # the held-out condition must be unseen, not approximated by copies
            tolerance_frames=settings.ingest.label_tolerance_frames,
        )
        video_id = record["video_id"]
        data[video_id] = (
            np.load(out_dir / f"{video_id}.npy"),
            pd.read_csv(out_dir / f"{video_id}.csv"),
        )
    return data


# --- one fold -----------------------------------------------------------------------------------


def make_split(video_ids: list[str], conditions: dict[str, str], data: dict):
    from ethoflow.training.fit import Split

    return Split(
        video_ids=list(video_ids),
        conditions=[conditions[v] for v in video_ids],
        features=[data[v][0] for v in video_ids],
        labels=[data[v][1] for v in video_ids],
    )


def stopping_videos(
    video_ids: list[str], conditions: dict[str, str], data: dict, head: str, settings: Settings
) -> list[str]:
    """Per training condition, the video ingest's split would validate on (one showing ``head``
    where a condition has one): early stopping and the threshold need positives to score."""
    from ethoflow.data.split import split_recordings

    table = pd.DataFrame(
        {
            "video_id": video_ids,
            "condition": [conditions[v] for v in video_ids],
            "frames": [len(data[v][1]) for v in video_ids],
            head: [int(data[v][1][head].sum()) for v in video_ids],
        }
    )
    splits = split_recordings(
        table, test_fraction=settings.ingest.test_fraction, seed=settings.seed, behaviours=(head,)
    )
    return [v for v in video_ids if splits[v] == "validation"]


def run_fold(
    held_out: str,
    head: str,
    conditions: dict[str, str],
    data: dict,
    settings: Settings,
    hp: dict[str, Any],
    budget,
) -> dict[str, Any]:
    """Train on every condition but ``held_out``, label ``held_out``; one result row."""
    import keras

    from ethoflow.evaluation.metrics import evaluate_model
    from ethoflow.training.fit import train_head

    started = time.perf_counter()
    others = sorted(v for v in data if conditions[v] != held_out)
    stop_ids = stopping_videos(others, conditions, data, head, settings)
    fit_ids = [v for v in others if v not in stop_ids]
    test_ids = sorted(v for v in data if conditions[v] == held_out)
    row: dict[str, Any] = {
        "held_out": held_out,
        "behaviour": head,
        "fit_videos": fit_ids,
        "stopping_videos": stop_ids,
        "held_out_videos": test_ids,
    }
    fit, stop = make_split(fit_ids, conditions, data), make_split(stop_ids, conditions, data)
    held = make_split(test_ids, conditions, data)
    try:
        model, stop_pr_auc, best_epoch = train_head(ARCHITECTURE, hp, fit, stop, head, budget)
    except ValueError as exc:  # no positives to fit or stop on: a lab too small, say so
        return row | {"skipped": str(exc), "seconds": round(time.perf_counter() - started, 1)}
    evaluation = evaluate_model(model, int(hp["window"]), head, stop, held, settings.postprocess)
    table = evaluation.table[evaluation.table.scope == "all"].set_index("postprocessed")
    final, raw = table.loc[True], table.loc[False]
    keras.backend.clear_session()  # each fold builds new graphs: keep memory flat
    return row | {
        "frames": int(final.n_frames),
        "positives": int(final.n_positive),
        "threshold": round(evaluation.threshold, 4),
        "best_epoch": int(best_epoch),
        "stopping_pr_auc": round(stop_pr_auc, 4),
        "precision": round(float(final.precision), 4),
        "recall": round(float(final.recall), 4),
        "f1": round(float(final.f1), 4),
        "pr_auc": None if math.isnan(final.pr_auc) else round(float(final.pr_auc), 4),
        "f1_raw": round(float(raw.f1), 4),  # before post-processing, to see what smoothing adds
        "seconds": round(time.perf_counter() - started, 1),
    }


# --- report -------------------------------------------------------------------------------------


def _num(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"


def worst_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per feature set and behaviour: the held-out condition with the lowest F1 and the one with
    the lowest PR-AUC, which is what a new camera set-up risks. Conditions whose recordings show
    no such frame are left out (as ``worst_condition`` skips them): one false alarm makes their
    F1 0, which would hide a condition where the behaviour is there and missed."""
    worst = []
    scored = [r for r in rows if "skipped" not in r]
    for key in dict.fromkeys((r["feature_set"], r["behaviour"]) for r in scored):
        group = [r for r in scored if (r["feature_set"], r["behaviour"]) == key]
        measured = [r for r in group if r["positives"] > 0]
        low_f1 = min(measured, key=lambda r: r["f1"], default=None)
        low_auc = min(measured, key=lambda r: r["pr_auc"], default=None)
        worst.append(
            {
                "feature_set": key[0],
                "behaviour": key[1],
                "worst_f1_condition": low_f1 and low_f1["held_out"],
                "worst_f1": low_f1 and low_f1["f1"],
                "worst_pr_auc_condition": low_auc and low_auc["held_out"],
                "worst_pr_auc": low_auc and low_auc["pr_auc"],
                "mean_f1": round(float(np.mean([r["f1"] for r in measured])), 4)
                if measured
                else None,
                "not_measured": [r["held_out"] for r in group if r["positives"] == 0],
            }
        )
    return worst


def markdown(result: dict[str, Any]) -> str:
    """The results as Markdown tables, with the set-up and machine they were measured on."""
    c, m = result["config"], result["machine"]
    lines = [
        f"# Leave-one-condition-out recognition ({'quick' if c['quick'] else 'default'})",
        "",
        f"`{result['command']}`",
        "",
        f"Lab: {c['videos_per_condition']} recordings × {c['minutes']:g} min (±30 %) per "
        f"condition, lab seed {c.get('lab_seed', c['seed'])}, seed {c['seed']}; "
        f"TCN {json.dumps(result['hp'])}; max {c['max_epochs']} "
        f"epochs, patience {c['patience']}; post-processing {json.dumps(c['postprocess'])}.",
        f"Machine: {m['cpu']}, {m['cores']} cores{' (AVX-512)' if m['avx512'] else ''}, "
        f"load {m['load_before'][0]} before → {m['load_after'][0]} after. "
        f"Runtime {result['runtime_s'] / 60:.1f} min "
        f"({', '.join(f'{k} {v / 60:.1f} min' for k, v in result['timings_s'].items())}).",
        "",
        "| features | held out | behaviour | frames | positives | threshold | precision | recall "
        "| F1 | PR-AUC |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in result["results"]:
        if "skipped" in r:
            lines.append(
                f"| {r['feature_set']} | {r['held_out']} | {r['behaviour']} "
                f"| skipped: {r['skipped']} ||||||| "
            )
            continue
        lines.append(
            f"| {r['feature_set']} | {r['held_out']} | {r['behaviour']} | {r['frames']} "
            f"| {r['positives']} | {r['threshold']:.3f} | {_num(r['precision'])} "
            f"| {_num(r['recall'])} | {_num(r['f1'])} | {_num(r['pr_auc'])} |"
        )
    lines += [
        "",
        "| features | behaviour | worst held-out condition by F1 | by PR-AUC | mean F1 "
        "| no positives in |",
        "|---|---|---|---|---|---|",
    ]
    for w in result["worst"]:
        lines.append(
            f"| {w['feature_set']} | {w['behaviour']} "
            f"| {w['worst_f1_condition'] or ''} {_num(w['worst_f1'])} "
            f"| {w['worst_pr_auc_condition'] or ''} {_num(w['worst_pr_auc'])} "
            f"| {_num(w['mean_f1'])} | {', '.join(w['not_measured']) or '—'} |"
        )
    lines += [
        "",
        "Precision, recall and F1 of the thresholded, post-processed per-frame labels; PR-AUC of "
        "the probabilities; frames of the held-out condition's recordings pooled. — : no "
        "positive frame (PR-AUC undefined; the condition is left out of the worst and the mean).",
    ]
    return "\n".join(lines) + "\n"


# --- main ---------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--videos-per-condition",
        type=int,
        default=None,
        help="default 4, as synth.videos_per_condition",
    )
    parser.add_argument("--minutes", type=float, default=None, help="default 1.0")
    parser.add_argument(
        "--feature-sets", nargs="+", choices=list(FEATURE_SETS), default=list(FEATURE_SETS)
    )
    parser.add_argument("--max-epochs", type=int, default=None, help="default: params.yaml")
    parser.add_argument("--patience", type=int, default=None, help="default: params.yaml")
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"smoke-test size: {QUICK} (explicit options still win)",
    )
    parser.add_argument(
        "--lab-seed",
        type=int,
        default=None,
        help="seed of the synthetic lab only (default: params.yaml seed); another lab, same models",
    )
    parser.add_argument("--params", type=Path, default=ROOT / "params.yaml")
    parser.add_argument(
        "--workdir", type=Path, default=None, help="keep (and reuse) the lab and features here"
    )
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()

    started = time.perf_counter()
    settings = load_settings(args.params)
    base = QUICK if args.quick else {"videos_per_condition": 4, "minutes": 1.0}
    videos = args.videos_per_condition or base["videos_per_condition"]
    minutes = args.minutes or base["minutes"]
    max_epochs = args.max_epochs or base.get("max_epochs", settings.train.max_epochs)
    patience = args.patience or base.get("patience", settings.train.patience)
    if videos < 2:
        parser.error("--videos-per-condition must be >= 2 (one to fit, one to stop early on)")

    import keras
    import tensorflow as tf

    # Same seed is not enough on CPU: multi-threaded reductions can sum in another order.
    tf.config.experimental.enable_op_determinism()
    from ethoflow.data.ingest import discover_recordings
    from ethoflow.training.fit import Budget

    lab_seed = settings.seed if args.lab_seed is None else args.lab_seed
    hp = fixed_hp(settings)
    budget = Budget(max_epochs, patience, settings.train.stride_fraction, settings.seed)
    host = machine()
    temporary = None
    if args.workdir is None:
        temporary = tempfile.TemporaryDirectory(prefix="ethoflow-recognition-")
        workdir = Path(temporary.name)
    else:
        workdir = args.workdir.resolve()
        workdir.mkdir(parents=True, exist_ok=True)

    timings: dict[str, float] = {}
    rows: list[dict[str, Any]] = []
    try:
        tick = time.perf_counter()
        make_lab(settings, workdir, videos, minutes, lab_seed)
        timings["synthesis"] = time.perf_counter() - tick
        recordings, bad = discover_recordings(workdir / "raw")
        if bad:
            raise RuntimeError(f"synthetic lab has unusable recordings: {bad}")
        conditions = {r.video_id: r.condition for r in recordings}
        held_outs = sorted(set(conditions.values()))
        for feature_set in args.feature_sets:
            tick = time.perf_counter()
            say(f"{feature_set}: featurising {len(recordings)} recordings")
            fs_settings = with_features(settings, feature_set)
            data = featurise(fs_settings, recordings, workdir / "features" / feature_set)
            timings[f"{feature_set} features"] = time.perf_counter() - tick
            say(
                f"{feature_set}: {sum(len(d[1]) for d in data.values())} frames × "
                f"{next(iter(data.values()))[0].shape[1]} features "
                f"in {timings[f'{feature_set} features']:.0f} s"
            )
            tick = time.perf_counter()
            for held_out in held_outs:
                for head in settings.train.heads:
                    row = {"feature_set": feature_set} | run_fold(
                        held_out, head, conditions, data, fs_settings, hp, budget
                    )
                    rows.append(row)
                    shown = {k: row.get(k) for k in ("f1", "pr_auc", "best_epoch", "seconds")}
                    say(f"{feature_set} / {held_out} / {head}: {row.get('skipped') or shown}")
            timings[f"{feature_set} training"] = time.perf_counter() - tick
            del data
            keras.backend.clear_session()
    finally:
        if temporary is not None:
            temporary.cleanup()

    runtime = time.perf_counter() - started
    result = {
        "benchmark": "leave-one-condition-out recognition",
        "command": " ".join(["python", "bench/bench_recognition.py", *sys.argv[1:]]),
        "config": {
            "quick": args.quick,
            "videos_per_condition": videos,
            "minutes": minutes,
            "seed": settings.seed,
            "lab_seed": lab_seed,
            "feature_sets": args.feature_sets,
            "architecture": ARCHITECTURE,
            "max_epochs": max_epochs,
            "patience": patience,
            "stride_fraction": settings.train.stride_fraction,
            "postprocess": settings.postprocess.model_dump(),
            "features": {fs: FEATURE_SETS[fs] for fs in args.feature_sets}
            | {"weights": settings.features.weights, "layer": settings.features.layer},
        },
        "hp": hp,
        "machine": host | {"load_after": [round(x, 2) for x in os.getloadavg()]},
        "runtime_s": round(runtime, 1),
        "timings_s": {k: round(v, 1) for k, v in timings.items()},
        "results": rows,
        "worst": worst_rows(rows),
    }
    stem = "recognition_quick" if args.quick else "recognition"
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"{stem}.json").write_text(json.dumps(result, indent=2) + "\n")
    text = markdown(result)
    (args.out / f"{stem}.md").write_text(text)
    print(text, flush=True)
    say(f"wrote {args.out / stem}.json and .md; {runtime / 60:.1f} min")


if __name__ == "__main__":
    main()
