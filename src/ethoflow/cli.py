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
    head: Annotated[
        list[str] | None, typer.Option(help="Behaviour head(s) (default: train.heads).")
    ] = None,
    architecture: Annotated[
        list[str] | None, typer.Option(help="Architecture(s) (default: train.architectures).")
    ] = None,
    trials: Annotated[
        int | None, typer.Option(help="Trials per study (default: train.n_trials).")
    ] = None,
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
def demo(params: ParamsOption = Path("params.yaml")) -> None:
    """Run the main job end to end on the embedded defaults (synthetic lab, local stores)."""
    from ethoflow.versioning import push_data, track_data

    settings = _settings(params)
    root = params.resolve().parent
    _use_local_stores(settings)
    typer.echo("1/4 synthesising the lab …")
    inventory = _write_lab(settings)
    typer.echo(inventory.groupby("condition").frames.agg(["count", "sum"]).to_string())
    typer.echo("2/4 versioning the recordings with DVC …")
    track_data(root, [settings.paths.raw, settings.paths.truth])
    pushed = push_data(root)
    typer.echo(
        f"DVC: tracked {settings.paths.raw} and {settings.paths.truth}; pushed {pushed} files"
    )
    typer.echo("3/4 ingesting (Prefect flow `ingest`) …")
    from ethoflow.flows.ingest import ingest_flow
    from ethoflow.flows.train import train_flow

    typer.echo(ingest_flow(params=str(params.resolve()))["text"])
    typer.echo("4/4 training (Prefect flow `train`) …")
    _report_training(train_flow(params=str(params.resolve())))


if __name__ == "__main__":
    app()
