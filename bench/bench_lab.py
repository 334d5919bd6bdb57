"""A lab's workload at lab scale: each stage of a full retrain on 1 h and 2 h of footage, and a
nightly batch, timed with its peak memory, the growth fitted and projected to 10 h and 50 h.

A project of H hours is 6·H recordings of 10 minutes, 30 fps, 640×480, spread over the lab's
four set-ups, at least 3 recordings each (1 h: two set-ups; ``benchlib.lab_camera``; each
recording one drawn minute played ten times, see ``benchlib.write_tiled_recording``); the
recordings of a smaller project are among a bigger one's, so they are drawn once and kept in
``--workdir``. Each project starts empty and
runs, each stage in a fresh process (its own peak memory, ``benchlib.peak_rss_mb``; Prefect's
API server, a process of its own, not counted):

- **import**: ``ethoflow import --link`` of each set-up's folder, then ``dvc add`` and
  ``dvc push`` to a local remote;
- **ingest**: the ingest flow (screening, tracking, features);
- **search**: the train flow. ``--budget real``: params.yaml's ``train`` budget. ``--budget
  sample``: each head × architecture searched with one trial of ``--sample-epochs`` epochs, the
  trial the real search starts with (same seed, so the same hyper-parameters at every size); its
  epochs' times, read back from the trial's MLflow metrics, give the real budget's projection:
  ``n_trials × (first epoch + (max_epochs - 1) × steady epoch)`` per search, an upper bound
  (early stopping after ``patience`` epochs without gain, and the median pruner from the third
  trial, end trials sooner), plus each search's own cost outside its trials, as measured;
- **evaluate**, **promote** (with the champions' OpenVINO copies): their flows;
- **nightly**: ``ethoflow label`` of 6 new 10-minute recordings without a Prefect server
  (:func:`ethoflow.labelling.run.label_batch`, the champions' OpenVINO copies): 6 of a bigger
  project's, which this project's champions never saw.

Results: ``bench/results/lab.{json,md,png}`` and a history entry::

    .venv/bin/python bench/bench_lab.py --hours 1 2 --budget sample
    .venv/bin/python bench/bench_lab.py --hours 1 2 --budget real     # hours of a 2-core machine
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import yaml
from benchlib import (
    git_commit,
    machine,
    measure_in_child,
    peak_rss_mb,
    write_results,
    write_tiled_recording,
)

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
SETUPS = ("condition_1", "condition_2", "condition_3", "condition_5")  # the lab's four
NIGHTLY_RECORDINGS = 6
STAGES = ("import", "ingest", "search", "largest", "evaluate", "promote", "nightly")
SEARCHES = ("search", "largest")  # measured samples of the search, projected to the real budget
RETRAIN = ("ingest", "search", "evaluate", "promote")  # what `ethoflow retrain` runs
PROJECTED_HOURS = (10.0, 50.0)
NIGHT_H = 8.0


def _recording(workdir: Path, index: int, minutes: float) -> Path:
    """The bench's recording ``index`` (drawn now unless kept): set-up ``index % 4``."""
    setup = SETUPS[index % len(SETUPS)]
    video = workdir / "videos" / setup / f"lab_{index:02d}.mp4"
    return write_tiled_recording(video, setup, seed=1000 + index, minutes=minutes)


def project_indices(count: int) -> list[int]:
    """Which of the bench's recordings make a project of ``count``: spread over as many set-ups
    as give each 3 or more (ingest's split puts a set-up's first recording in validation, its
    second in test, the rest in training: with fewer, a set-up has no test recording)."""
    setups = max(1, min(len(SETUPS), count // 3))
    return [(k % setups) + len(SETUPS) * (k // setups) for k in range(count)]


def night_indices(project: list[int], count: int = NIGHTLY_RECORDINGS) -> list[int]:
    """The first ``count`` recordings of the bench outside ``project``."""
    others = (i for i in range(max(project) + count + 1) if i not in project)
    return [next(others) for _ in range(count)]


def recordings(workdir: Path, indices: list[int], minutes: float) -> list[Path]:
    return [_recording(workdir, i, minutes) for i in indices]


def linked(videos: list[Path], folder: Path) -> Path:
    """``folder`` made afresh with hard links to ``videos`` and their label files, by set-up."""
    shutil.rmtree(folder, ignore_errors=True)
    for video in videos:
        for kept in (video, video.with_suffix(".csv")):
            target = folder / kept.parent.name / kept.name
            target.parent.mkdir(parents=True, exist_ok=True)
            os.link(kept, target)
    return folder


def memory_by_length(workdir: Path, short: float | None, minutes: float) -> list[dict]:
    """Ingest's peak memory on a ``short`` recording and on the bench's recording 1 (``minutes``
    long, the same drawn minute: only the length differs), in ``bench_ingest.py``'s measurement
    (default features); none without ``short``."""
    if short is None:
        return []
    rows = []
    for length in (short, minutes):
        video = (
            _recording(workdir, 1, minutes)
            if length == minutes
            else write_tiled_recording(
                workdir / "videos" / "by-length" / f"lab_01-{length:g}min.mp4",
                SETUPS[1],
                seed=1001,
                minutes=length,
            )
        )
        out = workdir / "by-length" / f"{length:g}min"
        shutil.rmtree(out, ignore_errors=True)
        script, labels = str(ROOT / "bench" / "bench_ingest.py"), str(video.with_suffix(".csv"))
        measured = measure_in_child(script, str(video), labels, str(out), "0")
        rows.append({"minutes": length, **measured})
        print(json.dumps(rows[-1]), flush=True)
    return rows


def new_project(folder: Path) -> Path:
    """An empty project at ``folder``: this repository's params.yaml (its budget and search
    space; no waiting for files to settle) and a DVC repository with a local default remote;
    returns the params file."""
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    params = folder / "params.yaml"
    settings = yaml.safe_load((ROOT / "params.yaml").read_text())
    settings["label"]["settle_seconds"] = 0
    params.write_text(yaml.safe_dump(settings))
    dvc = str(Path(sys.executable).with_name("dvc"))
    subprocess.run([dvc, "init", "--no-scm", "-q"], cwd=folder, check=True)
    remote = folder.parent / f"{folder.name}-dvc-remote"
    shutil.rmtree(remote, ignore_errors=True)
    subprocess.run([dvc, "remote", "add", "-d", "local", str(remote)], cwd=folder, check=True)
    return params


def stride_variant(params: Path, stride_fraction: float) -> Path:
    """Settings beside ``params`` (same data) whose search cuts training windows at
    ``stride_fraction`` of their length, into an experiment and an Optuna study of their own."""
    name = f"stride-{stride_fraction:g}"
    settings = yaml.safe_load(params.read_text())
    settings["train"] |= {
        "stride_fraction": stride_fraction,
        "experiment": f"ethoflow-{name}",
        "optuna_storage": f"sqlite:///{params.parent / 'runs' / f'optuna-{name}.db'}",
    }
    variant = params.with_name(f"params-{name}.yaml")
    variant.write_text(yaml.safe_dump(settings))
    return variant


def _search_budget(settings, budget: str, sample_epochs: int):
    if budget == "real":
        return settings.train.budget
    return settings.train.budget.override(
        n_trials=1, max_epochs=sample_epochs, patience=sample_epochs
    )


def _trial_epochs(settings) -> list[dict]:
    """Each trial's hyper-parameters and epoch times, from its MLflow run: the first epoch
    (model building and tracing included) from the run's start, the others between metrics."""
    import mlflow

    client = mlflow.MlflowClient(settings.tracking_uri)
    experiment = client.get_experiment_by_name(settings.train.experiment)
    trials = []
    for run in client.search_runs([experiment.experiment_id]):
        if "trial" not in run.data.params or run.info.status != "FINISHED":
            continue  # a search's own run, or a trial stopped before its end
        history = client.get_metric_history(run.info.run_id, "test_pr_auc")
        stamps = [run.info.start_time] + sorted(m.timestamp for m in history)
        epochs = [(b - a) / 1000 for a, b in zip(stamps, stamps[1:], strict=False)]
        p = run.data.params
        trials.append(
            {
                "head": p["head"],
                "architecture": p["architecture"],
                "hp": {k: v for k, v in p.items() if k not in ("head", "architecture", "trial")},
                "epochs": len(epochs),
                "first_epoch_s": epochs[0],
                "steady_epoch_s": statistics.median(epochs[1:]) if len(epochs) > 1 else None,
                "trial_s": run.data.metrics["duration_s"],
            }
        )
    return trials


def largest_hp(space) -> dict:
    """The search space's most costly network per epoch: every size at its top, the longest
    window, the smallest batch (the most steps)."""
    return {
        "window": max(space.window),
        "batch_size": min(space.batch_size),
        "layers": space.layers[1],
        "units": space.units[1],
        "dropout": space.dropout[0],
        "learning_rate": space.learning_rate[0],
        "kernel_size": max(space.kernel_size),
        "dilation_depth": space.dilation_depth[1],
        "stacks": space.stacks[1],
        "causal": space.causal[0],
        "heads": max(space.heads),
    }


def _largest_trials(settings, epochs: int) -> list[dict]:
    """Per head and architecture, ``epochs`` epochs of :func:`largest_hp`'s network on the
    project's splits, timed as a search's trial is (``train_head``, the real windows)."""
    from ethoflow.training.fit import Budget, load_split, train_head

    train = load_split(settings.paths.features, "train")
    test = load_split(settings.paths.features, "test")
    t = settings.train
    hp = largest_hp(t.search_space)
    trials = []
    for head in t.heads:
        for architecture in t.architectures:
            ticks: list[float] = []
            start = time.perf_counter()
            train_head(
                architecture,
                hp,
                train,
                test,
                head,
                Budget(epochs, epochs, t.stride_fraction, settings.seed),
                on_epoch=lambda epoch, metrics, ticks=ticks: ticks.append(time.perf_counter()),
            )
            epoch_s = [b - a for a, b in zip([start, *ticks[:-1]], ticks, strict=True)]
            trials.append(
                {
                    "head": head,
                    "architecture": architecture,
                    "hp": {k: str(v) for k, v in hp.items()},
                    "epochs": len(epoch_s),
                    "first_epoch_s": epoch_s[0],
                    "steady_epoch_s": statistics.median(epoch_s[1:]),
                    "trial_s": time.perf_counter() - start,
                }
            )
    return trials


def _cpu_s() -> float:
    """CPU seconds of this process and its finished children: less bent by a busy machine than
    wall time."""
    mine, children = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return mine.ru_utime + mine.ru_stime + children.ru_utime + children.ru_stime


def _do_stage(stage: str, params: Path, budget: str, sample_epochs: int, night: Path) -> dict:
    """One stage's work on the project of ``params``; what it did."""
    from ethoflow.config import load_settings

    settings = load_settings(params)
    if stage == "import":
        from ethoflow.data.lab_import import import_recordings
        from ethoflow.mlops.versioning import push_data, track_data

        done = {}
        for setup in sorted(p for p in Path(os.environ["BENCH_LAB_SOURCES"]).iterdir()):
            done[setup.name] = import_recordings([setup], setup.name, settings, link=True).count(
                "imported"
            )
        track_data(params.parent, [settings.paths.raw])
        return done | {"pushed": push_data(params.parent)}
    if stage == "nightly":
        from ethoflow.labelling.run import label_batch
        from ethoflow.mlops.champions import champions_for_labelling

        outbox = params.parent / "outbox"
        return label_batch(settings, [night], outbox, load_heads=champions_for_labelling)["counts"]
    if stage == "ingest":
        from ethoflow.flows.ingest import ingest_flow

        summary = ingest_flow(params=str(params))
        return {"ingested": summary["ingested"], "quarantined": len(summary["quarantined"])}
    if stage == "search":
        from ethoflow.flows.train import train_flow

        chosen = _search_budget(settings, budget, sample_epochs)
        return {"searches": len(train_flow(params=str(params), budget=chosen))}
    if stage == "largest":
        return {"trials": _largest_trials(settings, sample_epochs)}
    if stage == "evaluate":
        from ethoflow.flows.evaluate import evaluate_flow

        return {"evaluated": len(evaluate_flow(params=str(params)))}
    if stage == "promote":
        from ethoflow.flows.promote import promote_flow

        return {"promoted": sum(d["promoted"] for d in promote_flow(params=str(params)))}
    raise ValueError(f"unknown stage {stage!r}")


def _run_stage(stage: str, params: Path, budget: str, sample_epochs: int, night: Path) -> dict:
    """Run in a fresh process: one stage; its wall and CPU time, peak memory and what it did
    (a search: its trials' epoch times too)."""
    from ethoflow.config import load_settings

    settings = load_settings(params)
    if stage in RETRAIN:  # flows: Prefect's API server up and TensorFlow imported first, as by
        from ethoflow.mlops.deployments import use_local_prefect  # the CLI

        use_local_prefect(settings)
        import tensorflow  # noqa: F401
        from prefect import flow

        flow(name="warm-up")(lambda: None)()
    load = round(os.getloadavg()[0], 2)
    start, cpu = time.perf_counter(), _cpu_s()
    done = _do_stage(stage, params, budget, sample_epochs, night)
    measured = {
        "seconds": time.perf_counter() - start,
        "cpu_s": _cpu_s() - cpu,
        "peak_mb": peak_rss_mb(),
        "load_at_start": load,
        "done": done,
    }
    if stage == "search":
        measured["trials"] = _trial_epochs(settings)
    elif stage == "largest":
        measured["trials"] = measured["done"].pop("trials")
    return measured


def fit_growth(hours: list[float], values: list[float]) -> tuple[float, float]:
    """``(fixed, per_hour)`` of the least-squares line through (hours, values): the stage's cost
    that does not grow with the footage and the cost of each hour more."""
    if len(hours) < 2 or len(set(hours)) < 2:
        raise ValueError(f"a growth needs two sizes or more, got {hours}")
    mean_h, mean_v = statistics.fmean(hours), statistics.fmean(values)
    per_hour = sum((h - mean_h) * (v - mean_v) for h, v in zip(hours, values, strict=True)) / sum(
        (h - mean_h) ** 2 for h in hours
    )
    return mean_v - per_hour * mean_h, per_hour


def projected(growth: tuple[float, float], hours: float) -> float:
    """The fitted line at ``hours`` of footage (never below zero)."""
    fixed, per_hour = growth
    return max(0.0, fixed + per_hour * hours)


def real_search_projection(search: dict, budget: dict) -> dict:
    """The real budget's search time from a sampled search: per head × architecture, ``n_trials``
    trials of ``max_epochs`` epochs at the sampled trial's first and steady epoch, plus the
    sampled search's time outside its trials (building the splits, registering, reports)."""
    per_search = {}
    for t in search["trials"]:
        steady = t["steady_epoch_s"] if t["steady_epoch_s"] is not None else t["first_epoch_s"]
        trial = t["first_epoch_s"] + (budget["max_epochs"] - 1) * steady
        per_search[f"{t['head']}/{t['architecture']}"] = budget["n_trials"] * trial
    outside = search["seconds"] - sum(t["trial_s"] for t in search["trials"])
    return {"seconds": sum(per_search.values()) + outside, "per_search_s": per_search}


def _fmt_s(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 2 * 3600:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


MEASURES = ("wall", "cpu")  # wall time on the (shared) machine; CPU time, steadier under load


def _stage_times(stage: str, measured: dict, result: dict) -> dict[str, float]:
    """A stage's wall and CPU seconds; a sampled search's: the real budget's, projected (its
    CPU time at the sampled search's CPU-to-wall ratio)."""
    if stage in SEARCHES and result["budget"] == "sample":
        wall = real_search_projection(measured, result["real_budget"])["seconds"]
        return {"wall": wall, "cpu": wall * measured["cpu_s"] / measured["seconds"]}
    return {"wall": measured["seconds"], "cpu": measured["cpu_s"]}


def summarise(result: dict) -> dict:
    """Per stage and measure (wall, CPU): the seconds at each measured size, the fitted growth
    and the projections; the retrain's total (ingest → promote) at every size."""
    rows = {}
    for stage in STAGES:
        measured = [s for s in result["sizes"] if stage in s["stages"]]
        if not measured:
            continue
        times = [_stage_times(stage, s["stages"][stage], result) for s in measured]
        row: dict = {
            "hours": [s["hours"] for s in measured],
            "peak_mb": [s["stages"][stage]["peak_mb"] for s in measured],
            "projected_from_sample": stage in SEARCHES and result["budget"] == "sample",
        }
        for measure in MEASURES:
            values = [t[measure] for t in times]
            row[measure] = {"seconds": values}
            if stage != "nightly" and len(set(row["hours"])) >= 2:
                growth = fit_growth(row["hours"], values)
                row[measure] |= {
                    "growth": growth,
                    "projected": {str(h): projected(growth, h) for h in PROJECTED_HOURS},
                }
        rows[stage] = row
    retrain: dict[str, dict[str, float]] = {measure: {} for measure in MEASURES}
    hours = [*(s["hours"] for s in result["sizes"]), *PROJECTED_HOURS]
    for measure in MEASURES:
        for h in hours:
            parts = [_at(rows.get(stage), measure, h) for stage in RETRAIN]
            if None not in parts:
                retrain[measure][str(h)] = sum(p for p in parts if p is not None)
    return {"stages": rows, "retrain_s": retrain}


def _at(row: dict | None, measure: str, hours: float) -> float | None:
    """A stage's seconds at ``hours``: measured, else projected, else None."""
    if row is None:
        return None
    if hours in row["hours"]:
        return row[measure]["seconds"][row["hours"].index(hours)]
    return row[measure].get("projected", {}).get(str(hours))


def markdown(result: dict) -> str:
    m, summary = result["machine"], result["summary"]
    real = result["real_budget"]
    sizes = [s["hours"] for s in result["sizes"]]
    columns = [*sizes, *PROJECTED_HOURS]
    minutes = result.get("recording_minutes", 10.0)
    lines = [
        "# A lab's workload at lab scale",
        "",
        f"`{result['command']}` on {result['date']}, commit {result['commit']}; "
        f"{m['cpu']}, {m['cores']} cores (load {m['load_before'][0]} "
        f"before, {result['load_after'][0]} after); {result['runtime_min']:.0f} min in all.",
        "",
        f"Projects of {', '.join(f'{h:g} h' for h in sizes)}: {minutes:g}-minute recordings, "
        "30 fps, 640×480, over as many of the lab's four set-ups as have 3 recordings each "
        "(ingest's split: validation, test, training); nightly batch: 6 "
        f"{minutes:g}-minute recordings the champions never saw. Real "
        f"budget: {len(real['heads'])} heads × {len(real['architectures'])} architectures × "
        f"{real['n_trials']} trials, ≤ {real['max_epochs']} epochs (patience "
        f"{real['patience']}).",
        "",
        "Each cell: wall time / CPU time (user + system of the stage's process and its "
        "children: about an idle 2-core machine's wall time when the stage keeps one core "
        "busy, twice it when both; the steadier figure when other jobs share the machine).",
        "",
        "| stage | " + " | ".join(f"{h:g} h" for h in columns) + " | peak memory |",
        "|---|" + "---|" * (len(columns) + 1),
    ]
    retrain = summary["retrain_s"]
    rows = [(stage, row) for stage, row in summary["stages"].items()] + [("retrain", None)]
    for stage, row in rows:
        cells = []
        for h in columns:
            if row is None:
                shown = [retrain[m].get(str(h)) for m in MEASURES]
                cells.append("–" if None in shown else " / ".join(_fmt_s(x) for x in shown))
                continue
            shown = [_at(row, m, h) for m in MEASURES]
            if None in shown:
                cells.append("–")
                continue
            text = " / ".join(_fmt_s(x) for x in shown)
            if h not in row["hours"]:
                cells.append(f"{text} ²")
            elif row["projected_from_sample"]:
                cells.append(f"{text} ¹")
            else:
                cells.append(f"**{text}**")
        peaks = "" if row is None else " / ".join(f"{mb:.0f}" for mb in row["peak_mb"]) + " MB"
        name = {
            "largest": "search, every trial the largest network ³",
            "nightly": "nightly (6 × 10 min)",
            "retrain": "retrain (ingest → promote)",
        }
        lines.append(f"| {name.get(stage, stage)} | " + " | ".join(cells) + f" | {peaks} |")
    lines += [
        "",
        "**Bold**: measured; the retrain: the sum of its stages. ¹ projected from the "
        "measured sampled search (below). ² projected from the line through the measured sizes "
        "(fixed + per-hour cost). ³ an upper bound: each trial of the real budget the space's "
        "most costly network per epoch (not part of the retrain's sum). Peak memory: the "
        "stage's process at each measured size.",
    ]
    searched = [s for s in result["sizes"] if "search" in s["stages"]]
    if result["budget"] == "sample" and searched:
        at = " / ".join(f"{s['hours']:g} h" for s in searched)
        sampled = " / ".join(_fmt_s(s["stages"]["search"]["seconds"]) for s in searched)
        lines += [
            "",
            f"The sampled search (1 trial × {result['sample_epochs']} epochs per head and "
            f"architecture, measured: {sampled} at {at}), per search; the real budget's time "
            "projected from its epochs:",
            "",
            f"| head / architecture | hyper-parameters | first epoch, {at} | steady epoch, {at} "
            f"| real budget ≤, {at} |",
            "|---|---|---|---|---|",
        ]
        projections = [real_search_projection(s["stages"]["search"], real) for s in searched]
        by_search = [
            {f"{t['head']}/{t['architecture']}": t for t in s["stages"]["search"]["trials"]}
            for s in searched
        ]
        for key, t in sorted(by_search[0].items()):
            hp = t["hp"]
            shown = f"window {hp['window']}, batch {hp['batch_size']}"
            shown += f", {hp['layers']} × {hp['units']} units" if "units" in hp else ""
            trials = [found[key] for found in by_search if key in found]
            first = " / ".join(f"{t['first_epoch_s']:.1f} s" for t in trials)
            steady = " / ".join(
                "–" if t["steady_epoch_s"] is None else f"{t['steady_epoch_s']:.1f} s"
                for t in trials
            )
            budget = " / ".join(_fmt_s(p["per_search_s"][key]) for p in projections)
            lines.append(f"| {key} | {shown} | {first} | {steady} | {budget} |")
    for size in result["sizes"]:
        if "stride_fraction" not in size or "search" not in size["stages"]:
            continue
        default = _stage_times("search", size["stages"]["search"], result)
        lines += [
            "",
            f"Window stride, {size['hours']:g} h project (the same sampled search; the real "
            "budget projected, wall / CPU):",
            "",
            "| train.stride_fraction | sampled search, wall | real budget ≤ | × default |",
            "|---|---|---|---|",
            f"| {result['stride_fraction']:g} (default) "
            f"| {_fmt_s(size['stages']['search']['seconds'])} "
            f"| {_fmt_s(default['wall'])} / {_fmt_s(default['cpu'])} | 1.00 / 1.00 |",
        ]
        for stride, search in size["stride_fraction"].items():
            times = _stage_times("search", search, result)
            lines.append(
                f"| {stride} | {_fmt_s(search['seconds'])} "
                f"| {_fmt_s(times['wall'])} / {_fmt_s(times['cpu'])} "
                f"| {times['wall'] / default['wall']:.2f} / {times['cpu'] / default['cpu']:.2f} |"
            )
    if result.get("memory_by_length"):
        lines += [
            "",
            "Ingest's peak memory by recording length (one recording, `bench_ingest.py`'s "
            "measurement): "
            + ", ".join(
                f"{r['minutes']:g} min {r['peak_mb']:.0f} MB ({r['fps']:.0f} kept frames/s)"
                for r in result["memory_by_length"]
            )
            + ".",
        ]
    for note in result.get("notes", []):  # what a run's record adds by hand, said as such
        lines += ["", note]
    return "\n".join(lines) + "\n"


def plot(result: dict, path: Path) -> None:
    """Seconds per stage against hours of footage: measured points, projected lines, the night."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(7, 4.5))
    span = [0.5, max(PROJECTED_HOURS)]
    stages = result["summary"]["stages"]
    for stage, row in stages.items():
        if "growth" not in row["cpu"]:
            continue
        cpu = row["cpu"]
        (line,) = axes.plot(span, [projected(cpu["growth"], h) / 3600 for h in span], "--")
        marker = "s" if row["projected_from_sample"] else "o"
        label = {"search": "search, real budget", "largest": "search, largest network"}
        label = label.get(stage, stage)
        hours = [s / 3600 for s in cpu["seconds"]]
        axes.plot(row["hours"], hours, marker, color=line.get_color(), label=label)
    if all("growth" in stages.get(stage, {}).get("cpu", {}) for stage in RETRAIN):
        fixed = sum(stages[stage]["cpu"]["growth"][0] for stage in RETRAIN)
        per_hour = sum(stages[stage]["cpu"]["growth"][1] for stage in RETRAIN)
        total = [projected((fixed, per_hour), h) / 3600 for h in span]
        axes.plot(span, total, "k-", label="retrain (ingest → promote)")
    axes.axhline(NIGHT_H, color="grey", linewidth=1)
    axes.text(span[1], NIGHT_H * 1.1, "a night (8 h)", color="grey", ha="right")
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.set_xlabel("hours of footage in the project")
    axes.set_ylabel("CPU hours (≈ hours on an idle 2-core machine)")
    axes.set_title(f"Retrain stages as the footage grows ({result['date'][:10]})")
    axes.legend(fontsize=8, loc="lower right")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hours", type=float, nargs="+", default=[1.0, 2.0])
    parser.add_argument(
        "--recording-minutes", type=float, default=10.0, help="(shorter for a quick check)"
    )
    parser.add_argument("--budget", choices=("real", "sample"), default="sample")
    parser.add_argument("--sample-epochs", type=int, default=3)
    parser.add_argument(
        "--stages", nargs="+", choices=STAGES, default=list(STAGES), help="stages to measure"
    )
    parser.add_argument(
        "--nightly-at",
        type=float,
        nargs="*",
        help="sizes to label the nightly batch at "
        "(default: every size; its cost does not depend on the project's size)",
    )
    parser.add_argument(
        "--stride-fractions",
        type=float,
        nargs="*",
        default=[],
        help="after the largest project's stages, search it again with training windows cut "
        "at these strides (a share of the window; params.yaml: train.stride_fraction)",
    )
    parser.add_argument(
        "--memory-minutes",
        type=float,
        help="compare ingest's peak memory on a recording this long and on a full one",
    )
    parser.add_argument(
        "--workdir",
        type=Path,
        default=Path("/tmp/ethoflow-bench-lab"),
        help="recordings (kept between runs) and projects",
    )
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument(
        "--report", type=Path, help="only write the results again from this run's JSON"
    )
    parser.add_argument("--child", nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        stage, params, budget, epochs, night = args.child
        measured = _run_stage(stage, Path(params), budget, int(epochs), Path(night))
        print(json.dumps(measured))
        return
    if args.report:
        write_report(json.loads(args.report.read_text()), args.out)
        return
    if args.budget == "sample" and args.sample_epochs < 2:
        parser.error("--sample-epochs must be >= 2 (the first epoch is reported apart)")

    # Before TensorFlow is imported in the children: no CUDA probing on stderr.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    from ethoflow.config import load_settings

    train = load_settings(ROOT / "params.yaml").train
    started = time.perf_counter()
    result = {
        "benchmark": "a lab's workload at lab scale",
        "command": " ".join(["python", "bench/bench_lab.py", *sys.argv[1:]]),
        "commit": git_commit(ROOT),
        "machine": machine(),
        "budget": args.budget,
        "sample_epochs": args.sample_epochs,
        "real_budget": train.budget.model_dump(),
        "stride_fraction": train.stride_fraction,
        "recording_minutes": args.recording_minutes,
        "sizes": [],
    }
    for hours in sorted(args.hours):
        strides = args.stride_fractions if hours == max(args.hours) else []
        result["sizes"].append(measure_size(args, hours, strides))
        # Kept as it goes: a run stopped later still has its sizes (--report writes them).
        (args.workdir / "lab.json").write_text(json.dumps(_stamped(result, started)) + "\n")
    result["memory_by_length"] = memory_by_length(
        args.workdir, args.memory_minutes, args.recording_minutes
    )
    write_report(_stamped(result, started), args.out)


def _stamped(result: dict, started: float) -> dict:
    return result | {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "load_after": [round(x, 2) for x in os.getloadavg()],
        "runtime_min": (time.perf_counter() - started) / 60,
    }


def measure_size(args: argparse.Namespace, hours: float, strides: list[float]) -> dict:
    """Every stage on a new project of ``hours``, each in a fresh process; then the search
    again at each window stride in ``strides``."""
    project = project_indices(round(hours * 60 / args.recording_minutes))
    videos = recordings(args.workdir, project, args.recording_minutes)
    os.environ["BENCH_LAB_SOURCES"] = str(linked(videos, args.workdir / f"sources-{hours:g}h"))
    night = args.workdir / f"night-{hours:g}h"
    nightly = "nightly" in args.stages and (args.nightly_at is None or hours in args.nightly_at)
    params = new_project(args.workdir / f"project-{hours:g}h")
    size: dict = {"hours": hours, "recordings": len(videos), "stages": {}}
    runs = [(stage, params) for stage in args.stages if stage != "nightly" or nightly]
    runs += [("search", stride_variant(params, stride)) for stride in strides]
    for stage, settings in runs:
        if stage == "nightly":  # recordings this project's champions never saw (a bigger one's)
            linked(recordings(args.workdir, night_indices(project), args.recording_minutes), night)
        arguments = (stage, str(settings), args.budget, str(args.sample_epochs), str(night))
        try:
            measured = measure_in_child(__file__, *arguments)
        except subprocess.CalledProcessError as exc:  # said, and the other stages measured
            size.setdefault("failed", {})[stage] = exc.stderr[-3000:]
            print(f"{hours:g} h, {stage} failed:\n{exc.stderr[-3000:]}", flush=True)
            continue
        if settings == params:
            size["stages"][stage] = measured
        else:
            size.setdefault("stride_fraction", {})[settings.stem.split("-")[-1]] = measured
        shown = {k: v for k, v in measured.items() if k != "trials"}
        print(json.dumps({"hours": hours, "stage": stage, "params": settings.name, **shown}))
    return size


def write_report(result: dict, out: Path) -> None:
    """The run's JSON, its page (and history entry) and the growth plot under ``out``."""
    result["summary"] = summarise(result)
    text = markdown(result)
    write_results(out, "lab", result, text, "A lab's workload at lab scale, run by run")
    if any("growth" in row["cpu"] for row in result["summary"]["stages"].values()):
        plot(result, out / "lab.png")
    print(text, flush=True)


if __name__ == "__main__":
    main()
