"""``ethoflow`` command line: each command loads the settings and calls one library function.

Exit status, the same for every command: 0 — done (recordings already up to date count as done);
1 — done, but some recordings were quarantined (each named with its reason; the others were
processed); 2 — nothing was done: bad settings, a path that does not exist, an output folder that
cannot be written, no champion, models trained on other features; 130 — stopped by Ctrl-C (what
was finished is kept and reported; the same command again does the rest).

The terminal shows a progress bar per recording and the results; the logs (Prefect's, ethoflow's,
other libraries' warnings) go to a file named at the end, and to the terminal with ``--verbose``.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

from ethoflow.runtime.redact import redacted_excepthook

if TYPE_CHECKING:
    from ethoflow.config import Settings, TrainingBudget

app = typer.Typer(
    help="Label mouse behaviour in lab videos; train and compare the models.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    # Plain help, as click writes it: rich's help panels import rich and markdown-it, half a
    # second and more on busy cores, and `--help` must stay under one.
    rich_markup_mode=None,
)


def _not_retracing_warning(record: logging.LogRecord) -> bool:
    """False for TensorFlow's "triggered tf.function retracing" warning.

    Every model an evaluation or a labelling run loads traces its own predict graph once, and
    TensorFlow counts the traces of one Keras function across models as retracing: expected here,
    not a fault to chase (``--verbose`` shows it).
    """
    return "triggered tf.function retracing" not in record.getMessage()


@app.callback()
def main(
    context: typer.Context,
    verbose: Annotated[
        bool,
        typer.Option(
            "--verbose",
            help="Show the logs (Prefect's runs, TensorFlow's and MLflow's start-up) here too.",
        ),
    ] = False,
) -> None:
    """Exit status: 0 done, 1 some recordings quarantined (the rest done), 2 nothing done,
    130 stopped by Ctrl-C (re-run to finish)."""
    global _context, _verbose
    _context, _verbose = context, verbose
    # A failure no command turns into one line still ends in a traceback: without passwords.
    sys.excepthook = redacted_excepthook
    if not verbose:
        # Set before TensorFlow, MLflow or OpenCV is imported: each reads them once.
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # CUDA probing on CPU-only machines
        os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
        # MLflow's records go to the run's log file, not to a terminal handler of its own.
        os.environ.setdefault("MLFLOW_CONFIGURE_LOGGING", "false")
        # FFmpeg's notes on odd files ("moov atom not found"): the quarantine reason says it.
        os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")
        os.environ.setdefault("OPENCV_LOG_LEVEL", "ERROR")
        logging.getLogger("tensorflow").addFilter(_not_retracing_warning)
    # A tracking server that is down is reported in seconds, not after MLflow's default seven
    # retries with back-off inside each of the flow's own retries (13 minutes, measured).
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "2")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "30")


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
    int | None, typer.Option(min=1, help="Trials per study (default: train.n_trials).")
]
MaxEpochsOption = Annotated[
    int | None, typer.Option(min=1, help="Epoch limit of a trial (default: train.max_epochs).")
]
PatienceOption = Annotated[
    int | None,
    typer.Option(min=1, help="Epochs without a better test PR-AUC before a trial stops."),
]


def _reports():
    # pandas costs most of a second to import; `--help` must not pay for it.
    from ethoflow.evaluation import reports

    return reports


def _settings(params: Path) -> Settings:
    # pydantic builds the settings' classes on import (a third of a second, more on busy cores):
    # only a command that runs pays for it, not `--help`.
    from ethoflow.config import ConfigError, load_settings

    try:
        return load_settings(params)
    except ConfigError as exc:
        _fail(exc)


def _flow_settings(params: Path, *, models: bool = True) -> Settings:
    """Settings for a command that runs a flow: Prefect's state goes to the project's folder,
    its logs to the run's log file (:func:`_start_log`). ``models=False``: the command needs no
    Keras model (or imports TensorFlow itself when it does), so it is imported here only for the
    CNN features."""
    from ethoflow.mlops.deployments import start_temporary_server, use_local_prefect

    settings = _settings(params)
    use_local_prefect(settings)
    _start_log(settings)
    start_temporary_server()
    if models or settings.features.cnn:
        with _quiet_stderr():
            import tensorflow  # noqa: F401 - imported once here, where its notes are silenced
    return settings


_verbose = False
_context: typer.Context | None = None  # the command line's, set by main


def _start_log(settings: Settings) -> None:
    """Log to ``<paths.runs>/logs/<command>-<UTC time>.log`` (the terminal too with --verbose),
    named on stderr when the command ends; draw a progress bar per recording."""
    from ethoflow.runtime import progress
    from ethoflow.runtime.run_log import log_to_file

    command = _context.invoked_subcommand if _context else None
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = settings.paths.runs / "logs" / f"{command or 'ethoflow'}-{stamp}.log"
    close_log = log_to_file(path, terminal=_verbose)
    # ethoflow's notes (per video, per batch) in the file, as Prefect's runs log them.
    logging.getLogger("ethoflow").setLevel(logging.INFO)
    progress.enable()

    def end_the_log() -> None:
        close_log()
        progress.enable(False)
        if path.is_file():
            typer.echo(f"log: {path}", err=True)

    if _context:
        _context.call_on_close(end_the_log)


@contextmanager
def _stoppable(rest: str) -> Iterator[None]:
    """Ctrl-C within: the work stops after the frame batch in hand
    (:mod:`ethoflow.runtime.interrupt`), one line says what was done and how to ``rest``, exit
    130; a second Ctrl-C exits at once."""
    from ethoflow.runtime.interrupt import EXIT_STATUS, Interrupted, stop_on_sigint

    # Entered before numpy (or anything that starts threads) is imported: threads started
    # earlier, such as OpenBLAS's, do not block SIGINT, and one that takes it delays the stop
    # until the main thread wakes, after the work.
    try:
        with stop_on_sigint():
            yield
    except Interrupted as exc:
        typer.echo(f"interrupted: {exc}; re-run the same command to {rest}", err=True)
        raise typer.Exit(EXIT_STATUS) from None


@contextmanager
def _quiet_stderr() -> Iterator[None]:
    """TensorFlow writes CUDA probing and oneDNN notes to stderr from C++ before its logging is
    set up, where no setting reaches them: within, stderr is closed unless --verbose (an error is
    still raised, as an exception)."""
    if _verbose:
        yield
        return
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def _fail(exc: Exception | str) -> NoReturn:
    """Nothing was done: say why (an OS error in words, without its errno; no password of a URL
    it names), exit 2."""
    from ethoflow.runtime.redact import redact_credentials

    if isinstance(exc, OSError) and exc.strerror:
        exc = f"{exc.filename}: {exc.strerror.lower()}" if exc.filename else exc.strerror
    typer.echo(f"error: {redact_credentials(str(exc))}", err=True)
    raise typer.Exit(2) from None


def _check_out(folder: Path, choose: str) -> None:
    """Exit 2 before any work unless outputs can be written in ``folder``; ``choose`` names
    the setting that picks another."""
    from ethoflow.io.atomic import check_writable

    try:
        check_writable(folder)
    except OSError as exc:
        _fail(f"{exc} — choose another {choose}")


def _echo_outcome(video_id: str, status: str, reason: str, outputs) -> None:
    """One recording's result line: where its outputs are, and why it was refused or what to
    check in them (a warning)."""
    typer.echo(" ".join(str(part) for part in (f"{video_id}: {status}", outputs, reason) if part))


def _exit_if_quarantined(statuses: list[str]) -> None:
    if "quarantined" in statuses:
        raise typer.Exit(1)


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
    condition: Annotated[
        list[str] | None,
        typer.Option(help="Camera set-up(s) to record, e.g. condition_1 (default: the trained)."),
    ] = None,
) -> None:
    """Write the synthetic lab: recordings, label CSVs and ground truth per camera set-up."""
    from ethoflow.demo import write_lab

    settings = _settings(params)
    try:
        inventory = write_lab(
            settings,
            videos_per_condition=videos_per_condition,
            minutes=minutes,
            seed=seed,
            conditions=condition,
        )
    except ValueError as exc:
        _fail(exc)
    typer.echo(inventory.to_string(index=False))
    typer.echo(f"wrote {len(inventory)} recordings to {settings.paths.raw}")


@app.command()
def ingest(params: ParamsOption = Path("params.yaml")) -> None:
    """Validate, standardise, crop and featurise the raw recordings (Prefect flow)."""
    with _stoppable("featurise the rest"):
        _flow_settings(params, models=False)
        from ethoflow.flows.ingest import ingest_flow

        try:
            summary = ingest_flow(params=str(params.resolve()))
        except FileNotFoundError as exc:
            _fail(exc)
    typer.echo(summary["text"])
    _exit_if_quarantined(["quarantined"] * len(summary["quarantined"]))


def _budget(
    settings: Settings,
    heads: list[str] | None,
    architectures: list[str] | None,
    n_trials: int | None,
    max_epochs: int | None,
    patience: int | None,
) -> TrainingBudget:
    """The train section's budget with the options given; exit 2 naming a value it refuses."""
    from pydantic import ValidationError

    try:
        return settings.train.budget.override(
            heads=heads,
            architectures=architectures,
            n_trials=n_trials,
            max_epochs=max_epochs,
            patience=patience,
        )
    except ValidationError as exc:
        options = {"heads": "--head", "architectures": "--architecture", "n_trials": "--trials"}
        problems = []
        for error in exc.errors():
            field = str(error["loc"][0])
            option = options.get(field, "--" + field.replace("_", "-"))
            problems.append(f"{option} {error['input']}: {error['msg']}")
        _fail("; ".join(problems))


@app.command()
def train(
    params: ParamsOption = Path("params.yaml"),
    head: HeadsOption = None,
    architecture: ArchitecturesOption = None,
    trials: TrialsOption = None,
    max_epochs: MaxEpochsOption = None,
    patience: PatienceOption = None,
) -> None:
    """Search and register the best model per behaviour head and architecture (Prefect flow)."""
    with _stoppable("finish (finished trials are kept: the search resumes)"):
        # Checked before Prefect starts: a refused option is said at once.
        budget = _budget(_settings(params), head, architecture, trials, max_epochs, patience)
        _flow_settings(params)
        from ethoflow.flows.train import train_flow

        results = train_flow(params=str(params.resolve()), budget=budget)
    typer.echo(_reports().retrain_text({"train": results}))


@app.command()
def evaluate(
    params: ParamsOption = Path("params.yaml"),
    head: HeadsOption = None,
    version: Annotated[
        list[str] | None, typer.Option(help="Version(s) to (re-)evaluate; needs one --head.")
    ] = None,
) -> None:
    """Score model versions per recording condition on the validation videos (Prefect flow)."""
    _flow_settings(params)
    from ethoflow.flows.evaluate import evaluate_flow

    rows = evaluate_flow(params=str(params.resolve()), heads=head, versions=version)
    typer.echo(_reports().evaluation_text(rows))


@app.command()
def promote(params: ParamsOption = Path("params.yaml"), head: HeadsOption = None) -> None:
    """Make each head's best evaluated model `champion` if it beats the current one."""
    _flow_settings(params)
    from ethoflow.flows.promote import promote_flow

    decisions = promote_flow(params=str(params.resolve()), heads=head)
    typer.echo(_reports().retrain_text({"promote": decisions}))


@app.command()
def rollback(
    head: Annotated[str, typer.Argument(help="Behaviour head, e.g. grooming.")],
    params: ParamsOption = Path("params.yaml"),
) -> None:
    """Swap a head's `champion` and `previous` aliases (undo the last promotion)."""
    from ethoflow.mlops.champion_changes import rollback
    from ethoflow.mlops.mlflow_store import start_tracking

    start_tracking(_settings(params))
    try:
        decision = rollback(head)
    except ValueError as exc:
        _fail(exc)
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

    from ethoflow.mlops.logged_evaluations import compare_versions
    from ethoflow.mlops.mlflow_store import start_tracking
    from ethoflow.mlops.registered_models import model_name

    start_tracking(_settings(params))
    try:
        table = compare_versions(model_name(head), first, second)
    except ValueError as exc:
        _fail(exc)
    with pd.option_context("display.width", 200, "display.max_columns", None):
        typer.echo(table.round(3).to_string())


@app.command()
def retrain(
    params: ParamsOption = Path("params.yaml"),
    head: HeadsOption = None,
    architecture: ArchitecturesOption = None,
    trials: TrialsOption = None,
    max_epochs: MaxEpochsOption = None,
    patience: PatienceOption = None,
) -> None:
    """Ingest → train → evaluate → promote, as one Prefect flow run."""
    with _stoppable("finish (featurised recordings and finished trials are kept)"):
        # Checked before Prefect starts: a refused option is said at once.
        budget = _budget(_settings(params), head, architecture, trials, max_epochs, patience)
        _flow_settings(params)
        from ethoflow.flows.retrain import retrain_flow

        result = retrain_flow(params=str(params.resolve()), budget=budget)
    typer.echo(_reports().retrain_text(result))


@app.command()
def adapt(
    setup: Annotated[
        str, typer.Argument(help="The new set-up: its folder under paths.raw, e.g. cage_new.")
    ],
    recordings: Annotated[
        Path, typer.Option(help="Folder of the set-up's new, unlabelled recordings.")
    ],
    answers: Annotated[
        Path | None,
        typer.Option(
            help="Answer file (CSV: video, head, start_s, end_s, value, reviewer); default: the "
            "web UI's review answers (ui.data/review)."
        ),
    ] = None,
    holdout: Annotated[
        Path | None,
        typer.Option(help="Folder of fully labelled recordings of the set-up, to evaluate it on."),
    ] = None,
    strategy: Annotated[
        str, typer.Option(help="How the answered stretches were chosen: queue or random.")
    ] = "queue",
    params: ParamsOption = Path("params.yaml"),
) -> None:
    """One round of the review loop on a new set-up (Prefect flow): label its recordings with the
    champions, rank stretches for review, import the answers as partial labels, retrain, and
    promote only if the set-up improves; the round is an MLflow run (experiment ethoflow-adapt).

    Without answers yet, it writes the review queue and stops: answer it in the web UI's review
    page or in an answer file, then run it again.
    """
    from ethoflow.io.video import no_videos, videos_in

    if strategy not in ("queue", "random"):
        _fail(f"--strategy {strategy}: use queue or random")
    missing = [str(p) for p in (recordings, answers, holdout) if p is not None and not p.exists()]
    if missing:
        _fail(f"not found: {', '.join(missing)}")
    if not recordings.is_dir() or not videos_in(recordings):
        _fail(no_videos(recordings))
    with _stoppable("finish the round (what was labelled and trained is kept)"):
        from ethoflow.errors import NoChampionError
        from ethoflow.labelling.adaptation import round_text
        from ethoflow.labelling.review_queue import read_answers
        from ethoflow.mlops.champions import RegistryUnreadable, champions_for_labelling
        from ethoflow.ui.files import data_folder

        settings = _settings(params)
        _check_out(settings.paths.outbox, "paths.outbox")  # where the recordings' labels go
        source = answers or data_folder(settings, params) / "review"
        budget = _budget(settings, None, None, None, None, None)
        if source.exists():
            try:
                read_answers(source)  # a bad answer file: said at once, not after labelling
            except ValueError as exc:
                _fail(exc)
        _flow_settings(params)
        from ethoflow.flows.adapt import adapt_flow

        try:
            champions_for_labelling(settings, models=False)
            summary = adapt_flow(
                params=str(params.resolve()),
                setup=setup,
                recordings=str(recordings.resolve()),
                answers=str(source.resolve()),
                budget=budget,
                holdout=str(holdout.resolve()) if holdout else None,
                strategy=strategy,
            )
        except (NoChampionError, RegistryUnreadable, ValueError, OSError) as exc:
            _fail(exc)
    for o in summary["labelling"]["outcomes"]:
        if o["status"] == "quarantined":
            _echo_outcome(o["video_id"], o["status"], o["reason"], o["outputs"])
    typer.echo(round_text(summary))
    _exit_if_quarantined([o["status"] for o in summary["labelling"]["outcomes"]])


@app.command()
def label(
    videos: Annotated[list[Path], typer.Argument(help="Video files or folders to label.")],
    params: ParamsOption = Path("params.yaml"),
    out: Annotated[Path | None, typer.Option(help="Output folder (default: paths.outbox).")] = None,
) -> None:
    """Label videos with the champion models now (no Prefect server needed: the label flow's run
    is recorded on one when PREFECT_API_URL is set).

    Exits with status 1 when a video was quarantined (the others are labelled regardless), 2 when
    nothing could be done (a path that does not exist, an output folder that cannot be written,
    no champion), 130 when stopped by Ctrl-C (the same command again labels the rest).
    """
    missing = [str(v) for v in videos if not v.exists()]
    if missing:  # a typo: said before seconds of model loading, not after
        _fail(f"not found: {', '.join(missing)}")
    with _stoppable("label the rest"):
        from ethoflow.io.video import no_videos, videos_in

        empty = [v for v in videos if v.is_dir() and not videos_in(v)]
        if empty:  # a wrong folder: said at once, not after starting Prefect for nothing
            _fail(no_videos(empty[0]))
        batch = _label(videos, params, out)
    for o in batch["outcomes"]:
        _echo_outcome(o["video_id"], o["status"], o["reason"], o["outputs"])
    _exit_if_quarantined([o["status"] for o in batch["outcomes"]])


def _label(videos: list[Path], params: Path, out: Path | None) -> dict:
    """The batch's result, after the checks that make a failed run one line: the label flow's
    when ``PREFECT_API_URL`` names a Prefect server (the run recorded there), else the same batch
    run in this process without Prefect (no temporary server: seconds of start-up saved)."""
    on_server = bool(os.environ.get("PREFECT_API_URL"))
    if on_server:
        settings = _flow_settings(params, models=False)
    else:
        settings = _settings(params)
        _start_log(settings)
    _check_out(out or settings.paths.outbox, "--out" if out else "--out (or paths.outbox)")
    from ethoflow.errors import NoChampionError
    from ethoflow.mlops.champions import RegistryUnreadable, champions_for_labelling

    try:
        # The champions' tags, read before the batch starts: no champion, or one trained on
        # other features, is one line here rather than a failed run with its tracebacks.
        champions_for_labelling(settings, models=False)
        if on_server:
            from ethoflow.flows.label import label_flow
            from ethoflow.mlops.champions import champions_copied

            if not champions_copied(settings):
                with _quiet_stderr():
                    import tensorflow  # noqa: F401 - to copy a new champion, its notes silenced

            return label_flow(
                params=str(params.resolve()),
                videos=[str(v.resolve()) for v in videos],
                outbox=str(out.resolve()) if out else None,
            )
        from ethoflow.labelling.run import label_batch

        # Named, not __name__: `python -m ethoflow.cli` runs it as __main__.
        logging.getLogger("ethoflow.cli").info(
            "labelling without Prefect: PREFECT_API_URL is not set"
        )
        if settings.features.cnn:
            with _quiet_stderr():
                import tensorflow  # noqa: F401 - the CNN features' network needs it anyway
        return label_batch(
            settings,
            [v.resolve() for v in videos],
            out.resolve() if out else None,
            load_heads=_champions_quietly,
        )
    except (NoChampionError, RegistryUnreadable, ValueError, OSError) as exc:
        _fail(exc)


def _champions_quietly(settings: Settings) -> dict:
    """The champions for labelling; TensorFlow, imported only to copy a new champion to
    OpenVINO, is silenced."""
    from ethoflow.mlops.champions import champions_for_labelling

    with _quiet_stderr():
        return champions_for_labelling(settings)


@app.command()
def track(
    paths: Annotated[
        list[Path],
        typer.Argument(help="Videos, folders of videos, or folders of one recording's frames."),
    ],
    out: Annotated[Path, typer.Option(help="Output folder: one subfolder per recording.")],
    params: ParamsOption = Path("params.yaml"),
) -> None:
    """Track the mouse alone (no behaviour labels): track.csv, open-field summary, trajectory.

    Exits with status 1 when a recording was quarantined; the others are tracked regardless; 130
    when stopped by Ctrl-C (the same command again tracks the rest).
    """
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        _fail(f"not found: {', '.join(missing)}")
    with _stoppable("track the rest"):
        from ethoflow.labelling.batch import write_batch_report
        from ethoflow.labelling.track_outputs import recordings, track_paths
        from ethoflow.runtime.interrupt import Interrupted

        try:
            found = recordings(paths)
        except ValueError as exc:
            _fail(exc)
        settings = _settings(params)
        _check_out(out, "--out")
        _start_log(settings)
        try:
            outcomes = track_paths(
                found,
                out,
                arena_side_cm=settings.label.arena_side_cm,
                max_missing_share=settings.label.max_missing_share,
            )
            write_batch_report(outcomes, ", ".join(map(str, paths)), out)
        except OSError as exc:  # e.g. the disk filled up
            _fail(exc)
        stopped = [o for o in outcomes if o.status == "interrupted"]
        if stopped:
            done = len(outcomes) - len(stopped)
            raise Interrupted(f"{done} of {len(outcomes)} recordings tracked")
    for o in outcomes:
        _echo_outcome(o.video_id, o.status, o.reason, o.outputs)
    _exit_if_quarantined([o.status for o in outcomes])


@app.command("import")
def import_lab(
    sources: Annotated[
        list[Path],
        typer.Argument(help="Videos, or folders searched for videos; labels found beside each."),
    ],
    condition: Annotated[
        str,
        typer.Option(help="The recordings' set-up: their folder under paths.raw, e.g. cage_a."),
    ],
    params: ParamsOption = Path("params.yaml"),
    link: Annotated[
        bool, typer.Option("--link", help="Hard-link the videos instead of copying (same disk).")
    ] = False,
    unlabelled: Annotated[
        bool,
        typer.Option(
            "--unlabelled", help="Import videos without a label file too, to annotate later."
        ),
    ] = False,
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="Check everything, say what would be done, change nothing."),
    ] = False,
    push: Annotated[
        bool,
        typer.Option(
            help="Version paths.raw with DVC (dvc add) and push it to the default remote."
        ),
    ] = True,
) -> None:
    """Bring a lab's recordings in: each video with its label file (ours, BORIS, bout table,
    SimBA, DeepEthogram) converted to per-frame CSV and checked as ingest checks it, then copied
    into paths.raw/CONDITION/ and versioned with DVC.

    A bad pair is refused with the reason (exit status 1), the others are imported; a video
    already imported (the same bytes) is skipped, so running it again imports nothing, unless
    its label file changed (more review answers): then its labels are updated.
    """
    from ethoflow.data.lab_import import import_recordings

    settings = _settings(params)
    root = params.resolve().parent
    if push and not dry_run:
        _check_dvc_remote(root)
    if not dry_run:
        _check_out(settings.paths.raw, "paths.raw")
    try:
        report = import_recordings(
            sources, condition, settings, link=link, unlabelled=unlabelled, dry_run=dry_run
        )
    except (ValueError, OSError) as exc:
        _fail(exc)
    imported = "would import" if dry_run else "imported"
    width = len(imported)
    for o in report.outcomes:
        status = imported if o.status == "imported" else o.status
        where = f" → {_shown(o.target)}" if o.target else ""
        typer.echo(f"{status:<{width}}  {_shown(o.video)}{where}: {o.reason}")
    counts = {s: report.count(s) for s in ("imported", "updated", "skipped", "refused")}
    nothing_new = "" if counts["imported"] or counts["updated"] else " — nothing new to import"
    updated = f", labels updated {counts['updated']}" if counts["updated"] else ""
    typer.echo(
        f"{_shown(report.folder)}: {imported} {counts['imported']}{updated}, skipped "
        f"{counts['skipped']} (already imported), refused {counts['refused']}{nothing_new}"
    )
    raw = _shown(settings.paths.raw)
    if dry_run:
        then = f"; an import would then run `dvc add {raw}` and `dvc push`" if push else ""
        typer.echo(f"dry run: nothing was written{then}")
    elif not push:
        typer.echo(f"not versioned (--no-push): `dvc add {raw}` and `dvc push` do it")
    elif settings.paths.raw.is_dir():
        _version_raw(root, settings.paths.raw)
    if counts["refused"]:  # as a quarantined recording: said above, the others imported
        raise typer.Exit(1)


def _shown(path: Path) -> str:
    """``path`` relative to the working folder when it is inside it (as the user typed it)."""
    path = Path(path)
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _check_dvc_remote(root: Path) -> None:
    """Exit 2 before any work unless ``root`` is in a DVC repository with a default remote."""
    from dvc.exceptions import DvcException

    from ethoflow.mlops.versioning import default_remote

    try:
        remote = default_remote(root)
    except DvcException as exc:
        _fail(f"{root}: {exc} — run `dvc init` there (or pass --no-push)")
    if remote is None:
        _fail(
            f"{root}: the DVC repository has no default remote — add one with "
            "`dvc remote add -d NAME URL` (or pass --no-push)"
        )


def _version_raw(root: Path, raw: Path) -> None:
    """``dvc add`` the recordings folder and push it to the repository's default remote."""
    from dvc.exceptions import DvcException

    from ethoflow.mlops.versioning import push_data, track_data

    # DVC's own advice ("To track the changes with git, run: …") is said in one line below.
    logging.getLogger("dvc").setLevel(logging.WARNING)
    try:
        (dvc_file,) = track_data(root, [raw])
        pushed = push_data(root)
    except DvcException as exc:
        _fail(
            f"dvc: {exc} — the recordings are imported; `ethoflow import` again (or `dvc push`) "
            "versions them"
        )
    typer.echo(
        f"DVC: {_shown(dvc_file)} holds this version of the recordings (commit it with git); "
        f"pushed {pushed} files to the default remote"
    )


@app.command()
def serve(
    params: ParamsOption = Path("params.yaml"),
    port: Annotated[int, typer.Option(help="Port of the Prefect UI/API started here.")] = 4200,
) -> None:
    """Serve the nightly `label` and on-demand `retrain` deployments, with the Prefect UI.

    Starts a Prefect server on ``port`` unless PREFECT_API_URL points at one already.
    """
    from ethoflow.mlops.deployments import serve as serve_deployments

    try:
        serve_deployments(_settings(params), params, port)
    except RuntimeError as exc:
        _fail(exc)


@app.command()
def deploy(
    pool: Annotated[str, typer.Option(help="Process work pool whose worker runs the flows.")],
    params: ParamsOption = Path("params.yaml"),
) -> None:
    """Register the nightly `label` and on-demand `retrain` deployments on a work pool of the
    Prefect server at PREFECT_API_URL (then: prefect worker start --pool POOL)."""
    if not os.environ.get("PREFECT_API_URL"):
        _fail("PREFECT_API_URL is not set: export the URL of the Prefect server the worker polls")
    from ethoflow.mlops.deployments import deploy as deploy_deployments

    try:
        names = deploy_deployments(_settings(params), params, pool)
    except RuntimeError as exc:  # Prefect's DeploymentApplyError: e.g. no such work pool
        _fail(exc)
    typer.echo(f"deployed {', '.join(names)} on the work pool {pool}")


@app.command()
def ui(
    params: ParamsOption = Path("params.yaml"),
    port: Annotated[int | None, typer.Option(help="Port (default: ui.port).")] = None,
    host: Annotated[
        str, typer.Option(help="Address to serve on; 0.0.0.0 in a container, to reach it.")
    ] = "127.0.0.1",
) -> None:
    """The researchers' web app (Streamlit) on http://HOST:PORT: label, view, review."""
    settings = _settings(params)
    port = port or settings.ui.port
    script = Path(__file__).parent / "ui" / "app.py"
    command = [sys.executable, "-m", "streamlit", "run", str(script)]
    command += ["--server.address", host, "--server.port", str(port)]
    # Headless: no browser opened, no e-mail prompt; no usage statistics sent anywhere.
    command += ["--server.headless", "true", "--browser.gatherUsageStats", "false"]
    command += ["--server.maxUploadSize", str(settings.ui.max_upload_mb)]
    command += ["--server.fileWatcherType", "none", "--client.toolbarMode", "viewer"]
    # An unexpected error shows its type only: its message and traceback (server paths, a
    # store's URL) stay in the server's log.
    command += ["--client.showErrorDetails", "type"]
    os.environ["ETHOFLOW_PARAMS"] = str(params.resolve())
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    typer.echo(f"ethoflow ui: http://{host}:{port} (Ctrl+C stops it)")
    # Replaced by Streamlit's process: stopping this one stops the server, no orphan left.
    os.execv(sys.executable, command)


@app.command()
def demo(params: ParamsOption = Path("params.yaml")) -> None:
    """Run the main job end to end on the embedded defaults (synthetic lab, local stores), with
    the demo's search budget (params.yaml's demo section) in place of train's."""
    from ethoflow.demo import run_demo

    run_demo(_flow_settings(params), params, echo=typer.echo)


labels_app = typer.Typer(
    help="Label files of other tools (BORIS, bout tables, SimBA, DeepEthogram): convert, agree.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.add_typer(labels_app, name="labels")
FormatHelp = "ethoflow, boris, boris-aggregated, bouts, simba or deepethogram"
FpsOption = Annotated[float | None, typer.Option(help="The video's fps (or --video).")]
FramesOption = Annotated[int | None, typer.Option(help="The video's frame count (or --video).")]
VideoOption = Annotated[Path | None, typer.Option(help="The video, for its fps and frame count.")]
RaterColumnOption = Annotated[
    str | None, typer.Option(help="Column telling raters apart (default: labels.rater_column).")
]


def _fps_and_frames(
    fps: float | None, frames: int | None, video: Path | None
) -> tuple[float | None, int | None]:
    """The video's fps and frame count: as given, else read from ``video``."""
    if video is None:
        return fps, frames
    from ethoflow.io.video import probe_video

    info = probe_video(video)
    return fps or info.fps, frames or info.frame_count


@labels_app.command("convert")
def labels_convert(
    source: Annotated[Path, typer.Argument(help="Label file to read.")],
    to: Annotated[str, typer.Option("--to", help=f"Format to write: {FormatHelp}.")],
    out: Annotated[Path, typer.Option(help="File to write (.tsv: tab-separated).")],
    from_format: Annotated[
        str | None, typer.Option("--from", help="Format of SOURCE (default: <video>.<format>.csv).")
    ] = None,
    fps: FpsOption = None,
    frames: FramesOption = None,
    video: VideoOption = None,
    rater_column: RaterColumnOption = None,
    rater: Annotated[str | None, typer.Option(help="Rater whose rows are read.")] = None,
    params: ParamsOption = Path("params.yaml"),
) -> None:
    """Convert a label file between formats (bouts need the video's fps and frame count)."""
    from ethoflow.io.interchange import (
        TIMED_FORMATS,
        label_format_of,
        read_label_file,
        write_label_file,
    )

    labels = _settings(params).labels
    try:
        fps, frames = _fps_and_frames(fps, frames, video)
        from_format = from_format or label_format_of(source)
        table = read_label_file(
            source,
            from_format,
            mapping=labels.mapping,
            fps=fps,
            frame_count=frames,
            rater_column=rater_column or labels.rater_column,
            rater=rater or labels.rater,
        )
        write_label_file(table, out, to, fps=fps)
    except (ValueError, OSError) as exc:  # InputError is a ValueError
        _fail(exc)
    if frames is not None and from_format not in TIMED_FORMATS and len(table) != frames:
        # Converted all the same (a person may mean it), but a file of another video shows here.
        typer.echo(
            f"warning: {source} has {len(table)} frame rows but the video has {frames} frames: "
            "check that it labels this video (rows are converted as they are)",
            err=True,
        )
    marked = ", ".join(f"{name} {int(table[name].sum())}" for name in table.columns)
    unknown = table.isna().sum()
    unlabelled = ", ".join(f"{name} {count}" for name, count in unknown.items() if count)
    typer.echo(
        f"wrote {out} ({to}): {len(table)} frames; frames marked: {marked}"
        + (f"; unknown (unlabelled): {unlabelled}" if unlabelled else "")
    )


@labels_app.command("agree")
def labels_agree(
    a: Annotated[Path, typer.Argument(help="Reference label file (e.g. a person).")],
    b: Annotated[Path, typer.Argument(help="Label file compared with it (a rater or a model).")],
    from_a: Annotated[str | None, typer.Option(help=f"Format of A: {FormatHelp}.")] = None,
    from_b: Annotated[str | None, typer.Option(help="Format of B (default: its name).")] = None,
    fps: FpsOption = None,
    frames: FramesOption = None,
    video: VideoOption = None,
    rater_column: RaterColumnOption = None,
    rater_a: Annotated[str | None, typer.Option(help="Rater whose rows A holds.")] = None,
    rater_b: Annotated[str | None, typer.Option(help="Rater whose rows B holds.")] = None,
    min_iou: Annotated[
        float, typer.Option(help="A bout of B matches one of A from this IoU (0: any overlap).")
    ] = 0.0,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON records.")] = False,
    params: ParamsOption = Path("params.yaml"),
) -> None:
    """Per-frame and per-bout precision, recall, F1 and Cohen's kappa of B against A."""
    from functools import partial

    from ethoflow.evaluation.agreement import agreement, on_one_clock
    from ethoflow.io.interchange import label_format_of, read_label_file
    from ethoflow.io.labels import source_frames

    labels = _settings(params).labels
    try:
        fps, frames = _fps_and_frames(fps, frames, video)
        read = partial(
            read_label_file,
            mapping=labels.mapping,
            fps=fps,
            frame_count=frames,
            rater_column=rater_column or labels.rater_column,
        )
        table_a = read(a, from_a, rater=rater_a or labels.rater)
        table_b = read(b, from_b, rater=rater_b or labels.rater)
        # A model's labels.csv says which source frame each of its rows shows.
        clocks = tuple(
            source_frames(path) if (given or label_format_of(path)) == "ethoflow" else None
            for path, given in ((a, from_a), (b, from_b))
        )
        rows = len(table_a), len(table_b)
        table_a, table_b = on_one_clock(table_a, table_b, clocks=clocks, names=(str(a), str(b)))
        table = agreement(table_a, table_b, min_iou=min_iou)
    except (ValueError, OSError) as exc:
        _fail(exc)
    if (len(table_a), len(table_b)) != rows:  # one was put on the other's clock
        fine, coarse = (a, b) if len(table_a) < rows[0] else (b, a)
        typer.echo(
            f"note: {fine} has {max(rows)} frames, {coarse} {min(rows)} rows of the models' "
            "clock: compared at the frames its rows show (its frame column)",
            err=True,
        )
    if as_json:
        typer.echo(table.to_json(orient="records", indent=2))
    else:
        typer.echo(table.round(3).to_string(index=False))


if __name__ == "__main__":
    app()
