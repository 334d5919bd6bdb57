"""``ethoflow`` command line: each command loads the settings and calls one library function."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from ethoflow.config import ConfigError, Settings, load_settings

app = typer.Typer(
    help="Label mouse behaviour in lab videos; train and compare the models.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

ParamsOption = Annotated[
    Path,
    typer.Option("--params", envvar="ETHOFLOW_PARAMS", help="Settings file (params.yaml)."),
]
HeadsOption = Annotated[
    list[str] | None, typer.Option("--head", help="Behaviour head(s) (default: train.heads).")
]
ArchitecturesOption = Annotated[
    list[str] | None, typer.Option(help="Architecture(s) (default: train.architectures).")
]
TrialsOption = Annotated[
    int | None, typer.Option(help="Trials per study (default: train.n_trials).")
]


def _settings(params: Path) -> Settings:
    try:
        return load_settings(params)
    except ConfigError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None


def _use_local_stores(settings: Settings) -> None:
    """Point Prefect at the project's own folder unless the user configured a server."""
    home = Path(os.environ.setdefault("PREFECT_HOME", str(settings.paths.runs / "prefect")))
    home.mkdir(parents=True, exist_ok=True)  # Prefect's SQLite cannot create missing folders
    # Library progress messages (per video, per frame batch) show in the Prefect run logs.
    os.environ.setdefault("PREFECT_LOGGING_EXTRA_LOGGERS", "ethoflow")
    # The in-process API server starts slowly on a busy 2-core machine; the default 20 s is short.
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180")
    # No telemetry from a lab machine; its heartbeat also contends for the SQLite lock.
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")


def _write_lab(
    settings: Settings,
    *,
    videos_per_condition: int | None = None,
    minutes: float | None = None,
    seed: int | None = None,
):
    from ethoflow.synth import synthesize_lab

    return synthesize_lab(
        settings.paths.raw,
        settings.paths.truth,
        videos_per_condition=videos_per_condition or settings.synth.videos_per_condition,
        minutes=minutes or settings.synth.minutes,
        seed=settings.seed if seed is None else seed,
        light_mouse_fraction=settings.synth.light_mouse_fraction,
    )


@app.command()
def synth(
    params: ParamsOption = Path("params.yaml"),
    videos_per_condition: Annotated[
        int | None, typer.Option(help="Recordings per condition (default: params.yaml).")
    ] = None,
    minutes: Annotated[
        float | None, typer.Option(help="Mean recording length (default: params.yaml).")
    ] = None,
    seed: Annotated[int | None, typer.Option(help="Random seed (default: params.yaml).")] = None,
) -> None:
    """Write the synthetic lab: recordings, label CSVs and ground truth for 3 conditions."""
    settings = _settings(params)
    inventory = _write_lab(
        settings, videos_per_condition=videos_per_condition, minutes=minutes, seed=seed
    )
    typer.echo(inventory.to_string(index=False))
    typer.echo(f"wrote {len(inventory)} recordings to {settings.paths.raw}")


@app.command()
def ingest(params: ParamsOption = Path("params.yaml")) -> None:
    """Validate, standardise, crop and featurise the raw recordings (Prefect flow)."""
    settings = _settings(params)
    _use_local_stores(settings)
    from ethoflow.flows.ingest import ingest_flow

    summary = ingest_flow(params=str(params.resolve()))
    typer.echo(summary["text"])


@app.command()
def train(
    params: ParamsOption = Path("params.yaml"),
    head: HeadsOption = None,
    architecture: ArchitecturesOption = None,
    trials: TrialsOption = None,
) -> None:
    """Search and register the best model per behaviour head and architecture (Prefect flow)."""
    settings = _settings(params)
    _use_local_stores(settings)
    from ethoflow.flows.train import train_flow

    _report_training(
        train_flow(
            params=str(params.resolve()), heads=head, architectures=architecture, n_trials=trials
        )
    )


def _report_training(results: list[dict]) -> None:
    for r in results:
        typer.echo(
            f"{r['head']:>9} {r['architecture']:<12} test PR-AUC {r['best_pr_auc']:.3f}  "
            f"ethoflow-{r['head']} v{r['model_version']}"
        )


@app.command()
def evaluate(
    params: ParamsOption = Path("params.yaml"),
    head: HeadsOption = None,
    version: Annotated[
        list[str] | None, typer.Option(help="Version(s) to (re-)evaluate; needs one --head.")
    ] = None,
) -> None:
    """Score model versions per recording condition on the validation videos (Prefect flow)."""
    settings = _settings(params)
    _use_local_stores(settings)
    from ethoflow.flows.evaluate import evaluate_flow

    _report_evaluation(evaluate_flow(params=str(params.resolve()), heads=head, versions=version))


def _report_evaluation(rows: list[dict]) -> None:
    if not rows:
        typer.echo("nothing to evaluate: every version trained on the current features is scored")
    for row in rows:
        typer.echo(
            f"{row['head']:>9} v{row['version']:<4} worst-condition PR-AUC "
            f"{row['worst_condition_pr_auc']:.3f}"
        )


@app.command()
def promote(params: ParamsOption = Path("params.yaml"), head: HeadsOption = None) -> None:
    """Make each head's best evaluated model `champion` if it beats the current one."""
    settings = _settings(params)
    _use_local_stores(settings)
    from ethoflow.flows.promote import promote_flow

    _report_decisions(promote_flow(params=str(params.resolve()), heads=head))


def _report_decisions(decisions: list[dict]) -> None:
    for d in decisions:
        verdict = "promoted" if d["promoted"] else "kept champion"
        typer.echo(f"{d['head']:>9}: {verdict} — {d['reason']}")


@app.command()
def rollback(
    head: Annotated[str, typer.Argument(help="Behaviour head, e.g. grooming.")],
    params: ParamsOption = Path("params.yaml"),
) -> None:
    """Swap a head's `champion` and `previous` aliases (undo the last promotion)."""
    from ethoflow.promotion import rollback as rollback_head
    from ethoflow.registry import start_tracking

    start_tracking(_settings(params))
    try:
        decision = rollback_head(head)
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(
        f"{head}: champion is now v{decision.candidate_version} "
        f"(was v{decision.champion_version}, now `previous`)"
    )


@app.command()
def compare(
    head: Annotated[str, typer.Argument(help="Behaviour head, e.g. grooming.")],
    first: Annotated[str, typer.Argument(help="A model version.")],
    second: Annotated[str, typer.Argument(help="Another model version.")],
    params: ParamsOption = Path("params.yaml"),
) -> None:
    """Print two evaluated versions' validation metrics per condition side by side."""
    import pandas as pd

    from ethoflow.evaluation import compare_versions
    from ethoflow.promotion import model_name
    from ethoflow.registry import start_tracking

    start_tracking(_settings(params))
    try:
        table = compare_versions(model_name(head), first, second)
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    with pd.option_context("display.width", 200, "display.max_columns", None):
        typer.echo(table.round(3).to_string())


@app.command()
def retrain(
    params: ParamsOption = Path("params.yaml"),
    head: HeadsOption = None,
    architecture: ArchitecturesOption = None,
    trials: TrialsOption = None,
) -> None:
    """Ingest → train → evaluate → promote, as one Prefect flow run."""
    settings = _settings(params)
    _use_local_stores(settings)
    from ethoflow.flows.retrain import retrain_flow

    result = retrain_flow(
        params=str(params.resolve()), heads=head, architectures=architecture, n_trials=trials
    )
    _report_training(result["train"])
    _report_evaluation(result["evaluate"])
    _report_decisions(result["promote"])


@app.command()
def label(
    videos: Annotated[list[Path], typer.Argument(help="Video files to label.")],
    params: ParamsOption = Path("params.yaml"),
    out: Annotated[Path | None, typer.Option(help="Output folder (default: paths.outbox).")] = None,
) -> None:
    """Label video files with the champion models now (no Prefect server needed).

    Exits with status 1 when a video was quarantined; the others are labelled regardless.
    """
    from ethoflow import inference
    from ethoflow.ingest import build_extractor
    from ethoflow.registry import start_tracking

    settings = _settings(params)
    start_tracking(settings)
    outbox = out or settings.paths.outbox
    try:
        heads = inference.champions_for(settings)
    except (inference.NoChampionError, ValueError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    extractor = build_extractor(settings)
    outcomes = []
    for video in videos:
        outcome = inference.label_video(
            video,
            outbox,
            heads=heads,
            extractor=extractor,
            settings=settings,
        )
        typer.echo(f"{outcome.video_id}: {outcome.status} {outcome.reason or outcome.outputs}")
        outcomes.append(outcome)
    inference.write_batch_report(outcomes, outbox)
    if any(o.status == "quarantined" for o in outcomes):
        raise typer.Exit(1)


@app.command()
def serve(
    params: ParamsOption = Path("params.yaml"),
    port: Annotated[int, typer.Option(help="Port of the Prefect UI/API started here.")] = 4200,
) -> None:
    """Serve the nightly `label` and on-demand `retrain` deployments, with the Prefect UI.

    Starts a Prefect server on ``port`` unless PREFECT_API_URL points at one already.
    """
    import signal
    import subprocess
    import sys

    settings = _settings(params)
    _use_local_stores(settings)
    server = None
    if "PREFECT_API_URL" not in os.environ:
        server = subprocess.Popen(
            [sys.executable, "-m", "prefect", "server", "start", "--port", str(port)]
        )
        os.environ["PREFECT_API_URL"] = f"http://127.0.0.1:{port}/api"
        _wait_for_server(os.environ["PREFECT_API_URL"], server)
        typer.echo(f"Prefect UI: http://127.0.0.1:{port}")
        # A service manager stops us with SIGTERM: unwind so the server is stopped too.
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        from prefect import serve as serve_deployments

        from ethoflow.deployments import build_deployments

        serve_deployments(*build_deployments(settings, params))
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)


def _wait_for_server(api_url: str, server, timeout_s: float = 180.0) -> None:
    import time
    import urllib.request

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise typer.Exit(f"the Prefect server exited with code {server.returncode}")
        try:
            with urllib.request.urlopen(f"{api_url}/health", timeout=2):
                return
        except OSError:
            time.sleep(1)
    server.terminate()
    raise typer.Exit(f"the Prefect server did not answer at {api_url} within {timeout_s:.0f} s")


@app.command()
def demo(params: ParamsOption = Path("params.yaml")) -> None:
    """Run the main job end to end on the embedded defaults (synthetic lab, local stores)."""
    from ethoflow.versioning import push_data, track_data

    settings = _settings(params)
    root = params.resolve().parent
    _use_local_stores(settings)
    typer.echo("1/5 synthesising the lab …")
    inventory = _write_lab(settings)
    typer.echo(inventory.groupby("condition").frames.agg(["count", "sum"]).to_string())
    typer.echo("2/5 versioning the recordings with DVC …")
    track_data(root, [settings.paths.raw, settings.paths.truth])
    pushed = push_data(root)
    typer.echo(
        f"DVC: tracked {settings.paths.raw} and {settings.paths.truth}; pushed {pushed} files"
    )
    typer.echo("3/5 retraining: ingest → train → evaluate → promote (Prefect flow `retrain`) …")
    from ethoflow.flows.label import label_flow
    from ethoflow.flows.retrain import retrain_flow

    result = retrain_flow(params=str(params.resolve()))
    typer.echo(result["ingest"]["text"])
    _report_training(result["train"])
    _report_evaluation(result["evaluate"])
    _report_decisions(result["promote"])
    typer.echo(
        f"4/5 new recordings from a camera set-up held out of training → {settings.paths.inbox}"
    )
    _write_inbox(settings)
    typer.echo("5/5 labelling the inbox with the champions (Prefect flow `label`) …")
    batch = label_flow(params=str(params.resolve()))
    typer.echo(f"labelled into {settings.paths.outbox}: {batch['counts']}")
    agreement = _agreement(settings, batch["outcomes"])
    typer.echo("per-frame agreement with the synthetic ground truth:")
    typer.echo(agreement.round(3).to_string(index=False))


def _write_inbox(settings: Settings) -> None:
    from ethoflow.synth import HELD_OUT_CONDITION, synthesize_lab

    synthesize_lab(
        settings.paths.inbox,
        settings.paths.truth.with_name("inbox_truth"),
        videos_per_condition=settings.synth.inbox_videos,
        minutes=settings.synth.minutes,
        seed=settings.seed,  # condition 4 draws its own streams: no clash with the lab
        light_mouse_fraction=settings.synth.light_mouse_fraction,
        conditions=(HELD_OUT_CONDITION,),
    )


def _agreement(settings: Settings, outcomes: list[dict]):
    """Labels of the demo inbox against its ground truth; also written to the outbox."""
    import pandas as pd

    from ethoflow.evaluation import label_agreement
    from ethoflow.io.atomic import write_csv
    from ethoflow.synth import truth_labels

    truth_dir = settings.paths.truth.with_name("inbox_truth")
    tables = []
    for outcome in outcomes:
        if outcome["status"] == "quarantined":
            continue
        labels = pd.read_csv(Path(outcome["outputs"]) / "labels.csv")
        truth = truth_labels(pd.read_csv(truth_dir / f"{outcome['video_id']}.csv"))
        table = label_agreement(labels, truth, list(settings.train.heads))
        tables.append(table.assign(video_id=outcome["video_id"]))
    agreement = pd.concat(tables, ignore_index=True)[
        ["video_id", "head", "n_frames", "n_positive", "accuracy", "precision", "recall", "f1"]
    ]
    write_csv(agreement, settings.paths.outbox / "agreement.csv")
    return agreement


if __name__ == "__main__":
    app()
