"""Great Expectations checks of a recording (video + label CSV) before it enters the pipeline.

Two suites run on small in-memory tables: the video's metadata (one row: fps, frame count, frame
size) and the label table (behaviour columns after header normalisation, 0/1 values, one row per
video frame). An empty cell is an unknown frame (:mod:`ethoflow.io.labels`) and passes; a table
with no labelled frame at all is refused. Every failed expectation becomes one sentence a lab
researcher can act on; GE's own results are kept in ``details``. Bad input never raises: reporting
it is the point.

Rows are numbered as a spreadsheet shows them (the header is row 1, the first frame is row 2), the
same as :mod:`ethoflow.io.labels`.
"""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Collection
from dataclasses import asdict, dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from ethoflow.errors import InputError
from ethoflow.io.atomic import atomic_path
from ethoflow.io.labels import (
    COLUMN_NAMES,
    OLD_REARING,
    header_key,
    parse_label_csv,
    required_columns,
)
from ethoflow.io.video import VideoInfo, check_video_info, read_video_info

if TYPE_CHECKING:
    from great_expectations import ExpectationSuite
    from great_expectations.core import ExpectationSuiteValidationResult
    from great_expectations.core.batch_definition import BatchDefinition
    from great_expectations.expectations import Expectation

_VIDEO_FIELDS = {
    "fps": "frame rate (fps)",
    "frame_count": "frame count",
    "width": "frame width",
    "height": "frame height",
}
_ROWS_SHOWN = 5

# One GE context serves every call; GE's validator is not documented as thread-safe and Prefect may
# run tasks in threads, so validations take turns (each is a few tens of milliseconds).
_GX_LOCK = threading.Lock()


@dataclass(frozen=True)
class ValidationReport:
    recording: str
    success: bool
    problems: list[str]
    details: dict
    # The container's metadata as read for the checks (None if the file cannot be opened), so
    # that later steps need not probe the video again.
    video: VideoInfo | None = None


def validate_recording(
    video_path: Path, label_path: Path, *, tolerance_frames: int
) -> ValidationReport:
    """Check a video's metadata, then its label table; return every problem found, never raise.

    The label table needs ``Grooming`` and either ``Rearing`` or both ``Mid Rearing`` and ``Wall
    Rearing`` (headers compared by letters and digits only), values 0 or 1 or empty (unknown), at
    least one labelled frame, and a row count within ``tolerance_frames`` of the video's frame
    count. When the video is unusable
    the label table is still checked, except for its length if the frame count is unknown.
    """
    if tolerance_frames < 0:
        raise ValueError(f"tolerance_frames must be >= 0, got {tolerance_frames}")
    video_path, label_path = Path(video_path), Path(label_path)
    problems: list[str] = []
    details: dict[str, Any] = {}

    frames: int | None = None
    info: VideoInfo | None = None
    try:
        info = read_video_info(video_path)
    except InputError as exc:
        problems.append(f"video {video_path.name}: {exc.problem}")
    else:
        metadata = _video_metadata(info)
        result = _validate("video", _video_suite(), pd.DataFrame([metadata]))
        details["video"] = _stable(result)
        video_problems = [_video_problem(video_path.name, r) for r in _failures(result)]
        if not video_problems:
            # Beyond "positive": too few frames, an absurd fps, a truncated file, judged exactly
            # as labelling judges them.
            try:
                check_video_info(info)
            except InputError as exc:
                video_problems.append(f"video {video_path.name}: {exc.problem}")
        problems += video_problems
        count = metadata["frame_count"]
        if count is not None and count > 0:  # a bad fps alone does not make the count wrong
            frames = int(count)

    table = _read_label_table(label_path)
    if isinstance(table, str):
        problems.append(f"labels {label_path.name}: {table}")
    else:
        headers = _normalise_headers(table)
        for clash in headers.clashes:
            problems.append(f"labels {label_path.name}: columns {clash} name the same behaviour")
        suite = _label_suite(headers.table.columns, frames, tolerance_frames)
        result = _validate("labels", suite, headers.table)
        details["labels"] = _stable(result)
        problems += [
            _label_problem(label_path.name, r, headers.original, frames, tolerance_frames)
            for r in _failures(result)
        ]
        if _nothing_labelled(headers.table):
            problems.append(
                f"labels {label_path.name}: no frame is labelled (every behaviour cell is empty)"
            )

    return ValidationReport(
        recording=video_path.stem,
        success=not problems,
        problems=problems,
        details=details,
        video=info,
    )


def save_report(report: ValidationReport, path: Path) -> None:
    """Write ``report`` as JSON atomically."""
    text = json.dumps(asdict(report), indent=2, default=str)
    with atomic_path(path) as tmp:
        tmp.write_text(text + "\n", encoding="utf-8")


# --- reading the inputs -------------------------------------------------------------------------


def _video_metadata(info: VideoInfo) -> dict[str, float | None]:
    """The container's raw fps, frame count and size; unlike
    :func:`ethoflow.io.video.probe_video` nothing is judged here: GE does that."""
    return {
        "fps": _finite(info.fps),
        "frame_count": _finite(info.frame_count),
        "width": _finite(info.width),
        "height": _finite(info.height),
    }


def _finite(value: float) -> float | None:
    # NaN/inf become missing so the not-null expectation names them instead of a comparison.
    return float(value) if math.isfinite(value) else None


def _read_label_table(path: Path) -> pd.DataFrame | str:
    """Return the raw label CSV, or why it cannot be read."""
    if not path.is_file():
        return "file not found"
    try:
        table = parse_label_csv(path)  # the same parsing as ingest's read_labels
    except pd.errors.EmptyDataError:
        return "file is empty"
    except (ValueError, OSError) as exc:  # ParserError and UnicodeDecodeError are ValueErrors
        return f"not a readable CSV file ({exc})"
    if len(table) == 0:
        # One clear problem instead of "0 rows" plus checks of columns that hold nothing.
        return "has a header but no label rows"
    return table


@dataclass(frozen=True)
class _Headers:
    table: pd.DataFrame  # columns renamed to header keys, first of any clashing ones kept
    original: dict[str, str]  # header key -> header as written in the file
    clashes: list[str]  # e.g. "'Grooming', 'grooming '"


def _normalise_headers(table: pd.DataFrame) -> _Headers:
    positions: dict[str, list[int]] = {}
    for i, name in enumerate(table.columns):
        positions.setdefault(header_key(name), []).append(i)
    clashes = [
        ", ".join(repr(str(table.columns[i])) for i in where)
        for where in positions.values()
        if len(where) > 1
    ]
    keep = [where[0] for where in positions.values()]
    renamed = table.iloc[:, keep].set_axis(list(positions), axis=1)
    behaviours = [key for key in renamed.columns if key in COLUMN_NAMES]
    for key in behaviours:
        renamed[key] = _as_numbers(renamed[key])
    original = {key: str(table.columns[where[0]]) for key, where in positions.items()}
    return _Headers(renamed, original, clashes)


def _as_numbers(column: pd.Series) -> pd.Series:
    # A column holding one stray word is read as text; turn the text that reads as a number back
    # into numbers so that only the stray word is reported, not every "1".
    if pd.api.types.is_numeric_dtype(column):
        return column
    numbers = pd.to_numeric(column, errors="coerce")
    return numbers.astype(object).where(numbers.notna(), column.astype(object))


def _nothing_labelled(table: pd.DataFrame) -> bool:
    """Whether the behaviour columns ``table`` has (header keys) are all empty: a file that
    labels no frame teaches nothing and is most likely a wrong export."""
    behaviours = [key for key in table.columns if key in COLUMN_NAMES]
    return bool(behaviours) and bool(table[behaviours].isna().all().all())


# --- suites -------------------------------------------------------------------------------------


@cache
def _batch_definitions() -> dict[str, BatchDefinition]:
    """Create the process's one GE context: a pandas source with a whole-frame asset per suite."""
    # Imported here: importing GE takes seconds, which every `ethoflow` command would pay.
    import great_expectations as gx
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    config = DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(),  # nothing written to disk
        analytics_enabled=False,  # lab machines may be offline; GE must not phone home
        progress_bars=ProgressBarsConfig(globally=False),  # a bar per suite floods the logs
    )
    context = gx.get_context(mode="ephemeral", project_config=config)
    source = context.data_sources.add_pandas(name="ethoflow")
    return {
        name: source.add_dataframe_asset(name=name).add_batch_definition_whole_dataframe("whole")
        for name in ("video", "labels")
    }


def _stable(result: ExpectationSuiteValidationResult) -> dict:
    """The result as JSON without GE's batch load time, so the same inputs give the same report
    and a re-run rewrites nothing."""
    data = result.to_json_dict()
    data.get("meta", {}).get("batch_markers", {}).pop("ge_load_time", None)
    return data


def _validate(
    asset: str, suite: ExpectationSuite, table: pd.DataFrame
) -> ExpectationSuiteValidationResult:
    # Suites are built per recording (expectations passed to the constructor) and never added to
    # the context, so no store is consulted and names cannot collide across recordings.
    with _GX_LOCK:
        batch = _batch_definitions()[asset].get_batch(batch_parameters={"dataframe": table})
        return batch.validate(suite, result_format="SUMMARY")


def _video_suite() -> ExpectationSuite:
    import great_expectations as gx
    import great_expectations.expectations as gxe

    expectations: list[Expectation] = []
    for column in _VIDEO_FIELDS:
        expectations += [
            gxe.ExpectColumnValuesToNotBeNull(column=column),
            gxe.ExpectColumnValuesToBeBetween(column=column, min_value=0, strict_min=True),
        ]
    return gx.ExpectationSuite(name="ethoflow_video_metadata", expectations=expectations)


def _label_suite(columns: Collection[str], frames: int | None, tolerance: int) -> ExpectationSuite:
    import great_expectations as gx
    import great_expectations.expectations as gxe

    required = required_columns(columns)
    expectations: list[Expectation] = [gxe.ExpectColumnToExist(column=key) for key in required]
    # Empty cells (unknown frames) are allowed: GE's value checks leave them out.
    expectations += [
        gxe.ExpectColumnValuesToBeInSet(column=key, value_set=[0, 1])
        for key in required
        if key in columns
    ]
    if frames is not None:
        expectations.append(
            gxe.ExpectTableRowCountToBeBetween(
                min_value=max(frames - tolerance, 0), max_value=frames + tolerance
            )
        )
    return gx.ExpectationSuite(name="ethoflow_labels", expectations=expectations)


# --- problems in words --------------------------------------------------------------------------

_ORDER = (
    "expect_column_to_exist",
    "expect_column_values_to_not_be_null",
    "expect_column_values_to_be_in_set",
    "expect_column_values_to_be_between",
    "expect_table_row_count_to_be_between",
)


def _failures(result: ExpectationSuiteValidationResult) -> list[Any]:
    # GE groups results by metric, not suite order; sort so reports read column by column.
    failed = [r for r in result.results if not r.success]
    return sorted(
        failed,
        key=lambda r: (
            _ORDER.index(r.expectation_config.type),
            str(r.expectation_config.kwargs.get("column", "")),
        ),
    )


def _video_problem(name: str, result: Any) -> str:
    kind = result.expectation_config.type
    what = _VIDEO_FIELDS.get(result.expectation_config.kwargs.get("column"), "metadata")
    error = _raised(result)
    if error:
        return f"video {name}: could not check the {what} ({error})"
    if kind == "expect_column_values_to_not_be_null":
        return f"video {name}: {what} is missing or not a number"
    value = (result.result.get("partial_unexpected_list") or ["?"])[0]
    return f"video {name}: {what} is {_show(value)}, must be > 0"


def _label_problem(
    name: str, result: Any, original: dict[str, str], frames: int | None, tolerance: int
) -> str:
    kind = result.expectation_config.type
    key = result.expectation_config.kwargs.get("column", "")
    column = repr(original.get(key, COLUMN_NAMES.get(key, key)))
    details = result.result
    error = _raised(result)
    if error:
        return f"labels {name}: could not check column {column} ({error})"
    if kind == "expect_column_to_exist":
        found = ", ".join(repr(header) for header in original.values()) or "none"
        return f"labels {name}: missing column {_missing_column(key)}; found: {found}"
    if kind == "expect_column_values_to_be_in_set":
        values = ", ".join(_show(v["value"]) for v in details.get("partial_unexpected_counts", []))
        rows = _rows(details)
        return f"labels {name}: column {column} has values outside {{0,1}}: {values} ({rows})"
    if kind == "expect_table_row_count_to_be_between":
        return (
            f"labels {name}: {details.get('observed_value')} rows but the video has {frames} "
            f"frames (tolerance ±{tolerance})"
        )
    return f"labels {name}: failed {kind}"  # only reached if a new expectation lacks wording


def _missing_column(key: str) -> str:
    if key == "rearing":
        return "'Rearing' (or 'Mid Rearing' and 'Wall Rearing' in the older format)"
    if key in OLD_REARING:
        return f"{COLUMN_NAMES[key]!r} (older files need both 'Mid Rearing' and 'Wall Rearing')"
    return repr(COLUMN_NAMES.get(key, key))


def _raised(result: Any) -> str | None:
    # GE gives one flat record, or one record per metric when a metric's computation raised.
    info = result.exception_info or {}
    records = [info] if "raised_exception" in info else list(info.values())
    for record in records:
        if isinstance(record, dict) and record.get("raised_exception"):
            return str(record.get("exception_message"))
    return None


def _rows(details: dict) -> str:
    # GE lists only the first few indices (0-based frames); count tells how many there are.
    index = details.get("partial_unexpected_index_list") or []
    rows = [str(i + 2) for i in index[:_ROWS_SHOWN]]
    count = details.get("unexpected_count", len(index))
    more = f" … ({count} in all)" if count > len(rows) else ""
    return ("row " if count == 1 else "rows ") + ", ".join(rows) + more


def _show(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, str):
        return repr(value)
    return f"{value:g}" if isinstance(value, float) else str(value)
