"""Benchmark parallel work on CPU: ingest and labelling with 1 vs 2 video workers, Optuna with 1 vs
2 trial workers.

It synthesises a lab of 8 recordings (2 per training condition) and registers untrained champion
TCNs for the default features, then, each in a fresh process with Prefect's local API already up
(its start-up is not timed):

- **ingest**: the `ingest` flow on the 8 recordings into an empty features folder
  (`parallel.video_workers` 1, then 2);
- **label**: the `label` flow on the same 8 videos into an empty outbox (1, then 2);
- **search**: one Optuna study (TCN, grooming) of `--trials` trials on bench_train's synthetic
  split, each trial a nested MLflow run, `parallel.trial_workers` 1, then 2 (the refit of the best
  trial, the same in both, is not timed). The search space holds one size of network, so every
  trial costs about the same; trials are not pruned or stopped early before `--epochs`.

Each measurement runs `--repeats` times, alternating 1 and 2 workers; the median is reported, with
the load average at each start (the machine may be busy). Results: bench/results/parallel.{md,json}.

    .venv/bin/python bench/bench_parallel.py            # 1 min recordings, 4 trials of 5 epochs
    .venv/bin/python bench/bench_parallel.py --quick    # 0.2 min recordings, 4 trials of 2 epochs
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import yaml
from benchlib import machine, measure_in_child

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
SEED = 42
WORKERS = (1, 2)
STEPS = ("ingest", "label", "search")
HEAD = "grooming"  # the searched head
# One network size: trials differ only in dropout and learning rate, which cost nothing.
SEARCH_SPACE = {
    "window": [64],
    "batch_size": [32],
    "layers": [2, 2],
    "units": [64, 64],
    "kernel_size": [3],
    "dilation_depth": [4, 4],
    "stacks": [1, 1],
}
QUICK = {"minutes": 0.2, "epochs": 2, "train_frames": 2000, "test_frames": 600}
FULL = {"minutes": 1.0, "epochs": 5, "train_frames": 7000, "test_frames": 1800}


def write_params(workdir: Path, workers: int, epochs: int) -> Path:
    """``workdir/params-<workers>.yaml``: default features, ``workers`` video and trial workers,
    MLflow and Optuna under ``workdir``."""
    settings = {
        "seed": SEED,
        "train": {
            "max_epochs": epochs,
            "patience": epochs,
            "experiment": "bench-parallel",
            "search_space": SEARCH_SPACE,
        },
        "parallel": {"video_workers": workers, "trial_workers": workers},
        "label": {"settle_seconds": 0},
    }
    path = workdir / f"params-{workers}.yaml"
    path.write_text(yaml.safe_dump(settings))
    return path


def prepare(workdir: Path, minutes: float, epochs: int) -> None:
    """The lab (8 recordings) and an untrained champion per head in the workdir's MLflow store."""
    import mlflow
    import numpy as np

    from ethoflow.config import load_settings
    from ethoflow.features.featurization import Featurization
    from ethoflow.mlops.mlflow_store import configure_tracking
    from ethoflow.mlops.registered_models import log_keras_model, model_name
    from ethoflow.models import build_model
    from ethoflow.synth.conditions import CONDITIONS
    from ethoflow.synth.lab import synthesize_lab
    from ethoflow.training.fit import with_standardization

    for workers in WORKERS:
        write_params(workdir, workers, epochs)
    settings = load_settings(workdir / "params-1.yaml")
    synthesize_lab(
        settings.paths.raw, settings.paths.truth, videos_per_condition=2, minutes=minutes, seed=SEED
    )
    assert len(list(settings.paths.raw.rglob("*.mp4"))) == 2 * len(CONDITIONS) == 8
    featurization = Featurization.from_settings(settings)
    n_features = featurization.feature_count(None)
    hp = {"window": 64, "units": 16, "dropout": 0.0, "layers": 1, "kernel_size": 3}
    hp |= {"dilation_depth": 4, "stacks": 1, "causal": False}
    sample = np.random.default_rng(SEED).normal(size=(256, n_features)).astype(np.float32)
    settings.paths.mlflow.mkdir(parents=True, exist_ok=True)
    configure_tracking(settings.tracking_uri, settings.train.experiment)
    client = mlflow.MlflowClient()
    with mlflow.start_run(run_name="bench champions"):
        for head in settings.train.heads:
            model = with_standardization(build_model("tcn", hp, n_features), [sample])
            tags = {"window": "64", "featurization": featurization.id, "threshold": "0.5"}
            version = log_keras_model(
                model,
                name=head,
                example_input=np.zeros((1, 64, n_features), np.float32),
                registered_model_name=model_name(head),
                tags=tags,
            )
            client.set_registered_model_alias(model_name(head), "champion", version.version)


def _measure(step: str, params: Path, train_frames: int, test_frames: int, trials: int) -> dict:
    """Run in a subprocess: one step with the workers ``params`` sets; return its wall time."""
    from ethoflow.config import load_settings
    from ethoflow.mlops.deployments import use_local_prefect

    settings = load_settings(params)
    use_local_prefect(settings)
    import tensorflow  # noqa: F401 - imported before the clock starts, as by the CLI
    from prefect import flow

    flow(name="warm-up")(lambda: None)()  # starts Prefect's local API before the clock
    load = round(os.getloadavg()[0], 2)
    if step == "ingest":
        from ethoflow.flows.ingest import ingest_flow

        shutil.rmtree(settings.paths.features, ignore_errors=True)
        start = time.perf_counter()
        summary = ingest_flow(params=str(params))
        seconds = time.perf_counter() - start
        done = {"ingested": summary["ingested"], "quarantined": len(summary["quarantined"])}
    elif step == "label":
        from ethoflow.flows.label import label_flow

        outbox = params.parent / f"outbox-{settings.parallel.video_workers}"
        shutil.rmtree(outbox, ignore_errors=True)
        start = time.perf_counter()
        batch = label_flow(params=str(params), videos=[str(settings.paths.raw)], outbox=str(outbox))
        seconds = time.perf_counter() - start
        done = batch["counts"]
    else:
        import mlflow
        from bench_train import synthetic_splits

        from ethoflow.mlops.mlflow_store import start_tracking
        from ethoflow.training.fit import Budget
        from ethoflow.training.search import Search, run_search

        train, test = synthetic_splits(train_frames, test_frames, seed=SEED)
        start_tracking(settings)
        storage = params.parent / f"optuna-{settings.parallel.trial_workers}.db"
        storage.unlink(missing_ok=True)
        t = settings.train
        with mlflow.start_run(run_name=f"search, {settings.parallel.trial_workers} workers"):
            start = time.perf_counter()
            search = Search(
                HEAD,
                "tcn",
                train,
                test,
                space=t.search_space,
                n_trials=trials,
                storage=f"sqlite:///{storage}",
                budget=Budget(t.max_epochs, t.patience, t.stride_fraction, SEED),
                workers=settings.parallel.trial_workers,
            )
            study = run_search(search, study_name="bench")
            seconds = time.perf_counter() - start
        done = {
            "trials": len(study.trials),
            "epochs": sum(len(trial.intermediate_values) for trial in study.trials),
        }
    return {"seconds": seconds, "load_at_start": load, "done": done}


def markdown(result: dict) -> str:
    m, s = result["machine"], result["setup"]
    lines = [
        "# Parallel work: 1 vs 2 workers",
        "",
        f"`{' '.join(['python bench/bench_parallel.py', *result['arguments']])}`",
        "",
        f"Machine: {m['cpu']}, {m['cores']} cores{' (AVX-512)' if m['avx512'] else ''}, "
        f"load average {m['load_before'][0]} before → {m['load_after'][0]} after "
        "(1 min; other work was running). "
        f"Lab: 8 recordings × {s['minutes']:g} min (±30 %), 2 per training condition, default "
        f"features; search: {s['trials']} trials of {s['epochs']} epochs (TCN, one network size), "
        f"synthetic split of {s['train_frames']} + {s['test_frames']} frames. "
        f"Median of {s['repeats']} run(s) each. Runtime {result['runtime_min']:.1f} min.",
        "",
        "| step | 1 worker | 2 workers | speed-up | load at starts (1 / 2) | done |",
        "|---|---|---|---|---|---|",
    ]
    for step, row in result["steps"].items():
        one, two = row["1"], row["2"]
        lines.append(
            f"| {step} | {one['seconds']:.1f} s | {two['seconds']:.1f} s "
            f"| {row['speedup']:.2f}× | {one['loads']} / {two['loads']} "
            f"| {', '.join(f'{key} {value}' for key, value in two['done'].items())} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short recordings and trials")
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--trials", type=int, default=4)
    parser.add_argument("--workdir", type=Path, help="keep the lab here (default: a temp folder)")
    parser.add_argument("--child", nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        step, params, *sizes = args.child
        train_frames, test_frames, trials = map(int, sizes)
        print(json.dumps(_measure(step, Path(params), train_frames, test_frames, trials)))
        return

    # Before TensorFlow is imported, here and in the children: no CUDA probing on stderr.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    setup = (QUICK if args.quick else FULL) | {"trials": args.trials, "repeats": args.repeats}
    host = machine()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = args.workdir or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        prepare(workdir, setup["minutes"], setup["epochs"])
        sizes = [str(setup[key]) for key in ("train_frames", "test_frames", "trials")]
        runs: dict[str, dict[int, list[dict]]] = {step: {w: [] for w in WORKERS} for step in STEPS}
        for step in STEPS:
            for _ in range(args.repeats):
                for workers in WORKERS:
                    params = str(workdir / f"params-{workers}.yaml")
                    measured = measure_in_child(__file__, step, params, *sizes)
                    runs[step][workers].append(measured)
                    print(json.dumps({"step": step, "workers": workers, **measured}), flush=True)
    steps = {}
    for step, by_workers in runs.items():
        row = {
            str(workers): {
                "seconds": statistics.median(m["seconds"] for m in measured),
                "loads": ", ".join(str(m["load_at_start"]) for m in measured),
                "done": measured[-1]["done"],
                "runs": measured,
            }
            for workers, measured in by_workers.items()
        }
        row["speedup"] = row["1"]["seconds"] / row["2"]["seconds"]
        steps[step] = row
    result = {
        "arguments": sys.argv[1:],
        "machine": host | {"load_after": [round(x, 2) for x in os.getloadavg()]},
        "setup": setup,
        "runtime_min": (time.perf_counter() - started) / 60,
        "steps": steps,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "parallel.json").write_text(json.dumps(result, indent=2) + "\n")
    text = markdown(result)
    (RESULTS / "parallel.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
