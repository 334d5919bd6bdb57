"""Label files of other annotation tools ↔ our per-frame table (``grooming``, ``rearing``: 0, 1 or
unknown, see :mod:`ethoflow.io.labels`).

Formats (:data:`FORMATS`), with the column names as the tools write them (looked up in BORIS'
source, ``olivierfriard/BORIS`` ``export_observation.py``, and its user guide; SimBA's
``DeepEthogramImporter`` and SimBA's tutorials; DeepEthogram's label files as daart documents
them):

- ``ethoflow``: ours, one row per frame. Read in the old or new layout by
  :func:`ethoflow.io.labels.read_labels`; written in the new one (``Grooming``, ``Rearing``).
  Unknown: an empty cell.
- ``boris``: BORIS' *tabular events* export, TSV or CSV: one row per event with ``Time``,
  ``Behavior``, ``Subject`` and the event's status, ``START``/``STOP`` for a state event or
  ``POINT``, in ``Status`` (BORIS ≤ 7, whose files open with a few rows of observation details
  before the header) or ``Behavior type`` (BORIS 8). A file in the *aggregated* layout is read
  too. Unknown: see *unlabelled stretches* below, and the frames after the ``Media duration
  (s)`` BORIS writes, when it is one number shorter than the video.
- ``boris-aggregated``: BORIS' *aggregated events* export: one row per bout with ``Behavior``,
  ``Behavior type`` (``STATE`` or ``POINT``), ``Start (s)``, ``Stop (s)``, ``Duration (s)``.
- ``bouts``: a bout table in seconds: ``from``, ``to``, ``type``; several raters or sessions in
  one file are told apart by a column the user names (``rater_column``, e.g. ``Experimenter``).
- ``simba``: SimBA's per-frame files (``targets_inserted``, ``machine_results``): the frame
  index in the first column, then pose, features and ``Probability_<behaviour>`` columns, and a
  0/1 column per behaviour named after it. Columns whose name maps to no behaviour are ignored.
  Unknown: an empty cell.
- ``deepethogram``: DeepEthogram's ``<video>_labels.csv``: an unnamed frame index column,
  ``background``, then a 0/1 column per behaviour. Unknown: ``-1``, DeepEthogram's "not labelled
  yet"; written on every unknown cell, and in ``background`` where it is unknown too (no
  behaviour is 1 and one is unknown).

**Unlabelled stretches.** Timed formats state bouts, so a frame no bout covers is 0. Where nobody
labelled, a file says so with the reserved behaviour :data:`UNLABELLED` (``Unlabelled``, or
``Unlabeled``; a state event, an aggregated row or a bout like any other): its frames are
unknown for every behaviour, and ``Unlabelled Grooming`` (the reserved name, then a behaviour's
name as ``labels.mapping`` knows it) for that behaviour only. A bout of a behaviour inside a
stretch marked unlabelled for it is an error. Our writers write every unknown stretch so, and
read it back. BORIS users add ``Unlabelled`` to their ethogram as a state event and code the
stretches they skip. BORIS writes no start or stop of the coded span: its ``Observation duration``
is the span from the first to the last event (or the media's length), which says nothing of
where the observer started, so it is not read; its ``Media duration (s)`` is, as above.

Behaviour names are mapped to ours by ``labels.mapping`` in ``params.yaml`` (several names may
map to one behaviour, e.g. "Supported" and "Unsupported" to rearing), compared by their letters
and digits only as :func:`ethoflow.io.labels.header_key` does. Events and bouts whose name maps
to no behaviour ("Start/End", "Walking") are ignored; overlapping bouts of one behaviour merge.

**Time → frames.** Frame ``i`` shows the time ``[i/fps, (i+1)/fps)``; a bout ``[from, to)``
covers the frames whose *centre* ``(i + 0.5)/fps`` lies in it: frames ``ceil(from·fps − 0.5)``
up to, not including, ``ceil(to·fps − 0.5)``. A run of frames ``[a, b)`` is written as
``from = a/fps``, ``to = b/fps`` (rounded to the millisecond, as BORIS writes times), which
reads back to the same frames for any fps up to 1000: rounding moves a time by at most half a
millisecond, less than half a frame. A ``POINT`` event marks the one frame that shows its time,
``floor(t·fps)``. A time before 0 or more than half a frame after the video's end is an error.
"""

from __future__ import annotations

import io
import math
import operator
import re
from collections.abc import Hashable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import reduce
from pathlib import Path
from typing import TypeVar, cast

import numpy as np
import pandas as pd

from ethoflow.errors import InputError
from ethoflow.io.atomic import atomic_path
from ethoflow.io.labels import (
    BEHAVIOURS,
    COLUMN_NAMES,
    binary_column,
    bouts,
    header_key,
    read_labels,
    read_text,
)

FORMATS = ("ethoflow", "boris", "boris-aggregated", "bouts", "simba", "deepethogram")
# The behaviour name that marks stretches nobody labelled, in timed formats (see the module).
UNLABELLED = "Unlabelled"
_UNLABELLED_KEYS = ("unlabelled", "unlabeled")
_NOT_LABELLED_YET = "-1"  # DeepEthogram's value for a frame not labelled
# Formats that hold times, not frames: they need the video's fps (and frame count to read).
TIMED_FORMATS = ("boris", "boris-aggregated", "bouts")
TIME_DECIMALS = 3

_BORIS_STATUS = ("status", "behaviortype")  # BORIS ≤ 7, BORIS 8
_DECIMAL_COMMA = r"^\s*(-?\d+),(\d+)\s*$"  # 1,5: a number with a comma as its decimal mark


@dataclass(frozen=True)
class _Bout:
    """One bout (or point event, ``stop is None``) as a file states it."""

    name: str
    start: float
    stop: float | None
    row: int  # as a spreadsheet numbers the file's rows


def label_format_of(path: str | Path) -> str:
    """The format a label file's name declares: ``<video>.<format>.csv`` (or ``.tsv``), e.g.
    ``m1.boris.tsv``, ``m1.bouts.csv``; a plain ``<video>.csv`` is ours (``ethoflow``)."""
    path = Path(path)
    stem = Path(path.stem)
    declared = stem.suffix.lstrip(".").lower()
    if declared in FORMATS:
        return declared
    if path.suffix.lower() == ".csv":
        return "ethoflow"
    raise InputError(
        path,
        f"cannot tell the label format from the name; name it <video>.<format>.csv with "
        f"<format> one of {', '.join(FORMATS)}",
    )


# A behaviour's name: settings type them as a Literal of the known ones.
_Name = TypeVar("_Name", bound=str)


def name_lookup(mapping: Mapping[_Name, Sequence[str]]) -> dict[str, str]:
    """Header key of every name in ``mapping`` (our behaviour → other tools' names) → our
    behaviour; each behaviour's own name maps to it. Raises ``ValueError`` for a name given to two
    behaviours."""
    lookup: dict[str, str] = {header_key(behaviour): behaviour for behaviour in BEHAVIOURS}
    for behaviour, names in mapping.items():
        if behaviour not in BEHAVIOURS:
            raise ValueError(f"labels.mapping: unknown behaviour {behaviour!r}")
        for name in names:
            owner = lookup.setdefault(header_key(name), behaviour)
            if owner != behaviour:
                raise ValueError(f"labels.mapping: {name!r} maps to both {owner} and {behaviour}")
    return lookup


def read_label_file(
    path: str | Path,
    label_format: str | None = None,
    *,
    mapping: Mapping[_Name, Sequence[str]],
    fps: float | None = None,
    frame_count: int | None = None,
    rater_column: str | None = None,
    rater: str | None = None,
) -> pd.DataFrame:
    """Read a label file in ``label_format`` (default: :func:`label_format_of` its name) into a
    ``grooming``/``rearing`` table of nullable ``Int8`` 0/1 (<NA>: unknown).

    Timed formats (:data:`TIMED_FORMATS`) need the video's ``fps`` and ``frame_count``. With a
    ``rater``, only the rows whose ``rater_column`` holds it are read; without, every row is.
    Raises ``ValueError`` for bad arguments and :class:`InputError` naming the file (and the row)
    for a bad file.
    """
    path = Path(path)
    label_format = label_format or label_format_of(path)
    lookup = name_lookup(mapping)
    _check_format(label_format, fps)
    if rater is not None and rater_column is None:
        raise ValueError(f"rater {rater!r} given without the column that holds raters")
    if label_format in TIMED_FORMATS and (frame_count is None or frame_count < 1):
        raise ValueError(f"{label_format} labels need the video's frame count (got {frame_count})")
    if not path.is_file():
        raise InputError(path, "label file not found")
    if label_format == "ethoflow":
        return read_labels(path)
    table, first_row = _read_table(
        path, header_with="behavior" if "boris" in label_format else None
    )
    if rater is not None and rater_column is not None:
        table = _rater_rows(table, rater_column, rater, path)
    if label_format in ("simba", "deepethogram"):
        unknown = _NOT_LABELLED_YET if label_format == "deepethogram" else None
        labels = _per_frame_columns(table, lookup, path, unknown=unknown)
    else:
        assert fps is not None and frame_count is not None  # timed formats: checked above
        if label_format == "bouts":
            bouts, media_duration = _table_bouts(table, first_row, path), None
        else:
            bouts, media_duration = _boris_bouts(table, first_row, path), _media_duration(table)
        labels = _place_bouts(bouts, lookup, fps, frame_count, path, media_duration)
    if labels.isna().all().all():
        raise InputError(path, "no frame is labelled: every frame is unknown")
    return labels


def write_label_file(
    table: pd.DataFrame,
    path: str | Path,
    label_format: str,
    *,
    fps: float | None = None,
) -> None:
    """Write a ``grooming``/``rearing`` table in ``label_format``, atomically (tab-separated for
    a ``.tsv`` path); timed formats need ``fps``. Behaviours are named ``Grooming`` and
    ``Rearing``."""
    _check_format(label_format, fps)
    labels = table[list(BEHAVIOURS)].astype("Int8")
    names = [COLUMN_NAMES[behaviour] for behaviour in BEHAVIOURS]
    if label_format in ("ethoflow", "simba", "deepethogram"):
        out = labels.set_axis(names, axis=1)  # pandas writes an unknown cell empty
        if label_format == "deepethogram":
            # Background: 1 where no behaviour is, unknown where none is 1 and one is unknown.
            shown = reduce(operator.or_, (labels[b].astype("boolean") for b in BEHAVIOURS))
            out.insert(0, "background", (~shown).astype("Int8"))
            out = out.fillna(int(_NOT_LABELLED_YET))
        if label_format != "ethoflow":
            out.insert(0, "", np.arange(len(out)))  # both tools' first column: the frame index
    else:
        observation = Path(path).name.split(".")[0]  # the video's name, as BORIS shows it
        assert fps is not None  # timed formats: checked by _check_format
        out = _bout_rows(labels, names, fps, label_format, observation)
    path = Path(path)
    with atomic_path(path) as tmp:
        out.to_csv(tmp, index=False, sep="\t" if path.suffix.lower() == ".tsv" else ",")


def _check_format(label_format: str, fps: float | None) -> None:
    if label_format not in FORMATS:
        raise ValueError(f"unknown label format {label_format!r}; one of {', '.join(FORMATS)}")
    if label_format in TIMED_FORMATS and (fps is None or not 0 < fps <= 1000):
        raise ValueError(f"{label_format} labels need the video's fps, 0 < fps ≤ 1000 (got {fps})")


# --- reading ------------------------------------------------------------------------------------


def _read_table(path: Path, *, header_with: str | None) -> tuple[pd.DataFrame, int]:
    """The file's table (all cells as text) and the spreadsheet number of its first data row.

    The header is the first line, or with ``header_with`` the first line holding a cell with
    that header key (BORIS ≤ 7 writes observation details above it). Tabs, semicolons (Excel
    where the decimal mark is a comma) or commas separate cells, whichever the header holds.
    """
    lines = read_text(path).splitlines()
    header = 0
    if header_with is not None:
        found = next(
            (i for i, line in enumerate(lines) if header_with in map(header_key, _cells(line))),
            None,
        )
        if found is None:
            raise InputError(path, f"no header row with a {header_with.title()} column")
        header = found
    if header >= len(lines) or not lines[header].strip():
        raise InputError(path, "label file is empty")
    separator = _separator(lines[header])
    try:
        table = pd.read_csv(
            io.StringIO("\n".join(lines[header:])),
            sep=separator,
            dtype=str,
            keep_default_na=False,
            na_values=[""],
            skipinitialspace=True,
        )
    except pd.errors.ParserError as exc:
        raise InputError(path, f"not a readable table: {exc}") from exc
    if separator != ",":
        # Where cells are not split by commas, a comma between digits can only be a decimal
        # mark (Excel writes 1,5 where that is the locale's): read it as one.
        table = table.replace(_DECIMAL_COMMA, r"\1.\2", regex=True)
    return table, header + 2


def _cells(line: str) -> list[str]:
    return line.split(_separator(line))


def _separator(header: str) -> str:
    if "\t" in header:
        return "\t"
    return ";" if ";" in header and "," not in header else ","


def _columns(table: pd.DataFrame, keys: Sequence[str], path: Path) -> list[str]:
    """The table's columns whose header keys are ``keys``, in that order; all must be there."""
    by_key = {header_key(name): name for name in table.columns}
    missing = [key for key in keys if key not in by_key]
    if missing:
        found = ", ".join(map(str, table.columns)) or "none"
        raise InputError(path, f"missing column(s) {', '.join(missing)}; found: {found}")
    return [by_key[key] for key in keys]


def _rater_rows(table: pd.DataFrame, rater_column: str, rater: str, path: Path) -> pd.DataFrame:
    (column,) = _columns(table, [header_key(rater_column)], path)
    values = table[column].fillna("").str.strip()
    chosen = table[values == rater.strip()]
    if chosen.empty:
        found = ", ".join(sorted(set(values))) or "none"
        raise InputError(path, f"no rows with {column} = {rater!r}; found: {found}")
    return chosen


def _rows(table: pd.DataFrame, first_row: int) -> Iterator[tuple[int, pd.Series]]:
    """Each row of a :func:`_read_table` table with its spreadsheet row number (the table keeps
    the file's row order as its index, rater or not)."""
    for index, cells in table.iterrows():
        yield first_row + cast(int, index), cells


def _number(value: str | float, what: str, row: int, path: Path) -> float:
    number = pd.to_numeric(value, errors="coerce")
    if pd.isna(number) or not math.isfinite(number):
        problem = f"row {row}: {what} {value!r} is not a number of seconds"
        if re.fullmatch(_DECIMAL_COMMA, str(value)):
            # In a comma-separated file 1,500 may be 1.5 or 1500: the user knows which.
            point = str(value).strip().replace(",", ".")
            problem += (
                ": a decimal comma in a comma-separated file is ambiguous; write it with a "
                f"point ({point}), or save the file with semicolons between cells"
            )
        raise InputError(path, problem)
    return float(number)


def _table_bouts(table: pd.DataFrame, first_row: int, path: Path) -> list[_Bout]:
    start, stop, kind = _columns(table, ["from", "to", "type"], path)
    return [
        _Bout(
            str(cells[kind]),
            _number(cells[start], start, row, path),
            _number(cells[stop], stop, row, path),
            row,
        )
        for row, cells in _rows(table, first_row)
    ]


def _boris_bouts(table: pd.DataFrame, first_row: int, path: Path) -> list[_Bout]:
    keys = {header_key(name) for name in table.columns}
    if {"starts", "stops"} <= keys:  # aggregated: a row per bout
        behaviour, start, stop, kind = _columns(
            table, ["behavior", "starts", "stops", "behaviortype"], path
        )
        return [
            _Bout(
                str(cells[behaviour]),
                _number(cells[start], start, row, path),
                None
                if str(cells[kind]).upper() == "POINT"
                else _number(cells[stop], stop, row, path),
                row,
            )
            for row, cells in _rows(table, first_row)
        ]
    status_key = next((key for key in _BORIS_STATUS if key in keys), "status")
    behaviour, time, status = _columns(table, ["behavior", "time", status_key], path)
    subject = next((name for name in table.columns if header_key(name) == "subject"), None)
    bouts: list[_Bout] = []
    open_starts: dict[tuple[str, str], tuple[float, int]] = {}
    for row, cells in _rows(table, first_row):
        name = str(cells[behaviour])
        # BORIS pairs a STOP with the START of the same behaviour of the same subject.
        key = (str(cells[subject]) if subject else "", name)
        at = _number(cells[time], time, row, path)
        event = str(cells[status]).strip().upper()
        if event == "POINT":
            bouts.append(_Bout(name, at, None, row))
        elif event == "START":
            if key in open_starts:
                raise InputError(
                    path,
                    f"row {row}: START of {name!r} while its START at row "
                    f"{open_starts[key][1]} has no STOP",
                )
            open_starts[key] = (at, row)
        elif event == "STOP":
            if key not in open_starts:
                raise InputError(path, f"row {row}: STOP of {name!r} without a START")
            started, start_row = open_starts.pop(key)
            bouts.append(_Bout(name, started, at, start_row))
        else:
            raise InputError(
                path, f"row {row}: {status} {cells[status]!r} is not START, STOP or POINT"
            )
    if open_starts:
        (name_subject, (_, row)), *_ = sorted(open_starts.items(), key=lambda item: item[1][1])
        raise InputError(path, f"row {row}: START of {name_subject[1]!r} has no STOP")
    return bouts


def _media_duration(table: pd.DataFrame) -> float | None:
    """BORIS' ``Media duration (s)`` when the file holds one number there (several media, or
    none, give None)."""
    column = next((c for c in table.columns if header_key(c) == "mediadurations"), None)
    if column is None:
        return None
    values = pd.to_numeric(pd.Series(table[column].dropna().unique()), errors="coerce")
    if len(values) != 1 or not (math.isfinite(values[0]) and values[0] > 0):
        return None
    return float(values[0])


def _marks(name: str, lookup: dict[str, str]) -> tuple[list[str], bool] | None:
    """The behaviours a bout named ``name`` is about, and whether it marks them unlabelled
    (:data:`UNLABELLED`, alone: every behaviour); None for a name that maps to none."""
    key = header_key(name)
    if key in lookup:
        return [lookup[key]], False
    for prefix in _UNLABELLED_KEYS:
        if key.startswith(prefix):
            rest = key.removeprefix(prefix)
            if not rest:
                return list(BEHAVIOURS), True
            if rest in lookup:
                return [lookup[rest]], True
    return None


def _frame_range(bout: _Bout, fps: float, frame_count: int, path: Path) -> tuple[int, int]:
    """The frames ``[first, last)`` a bout covers (see the module's time → frames rule)."""
    stop = bout.start if bout.stop is None else bout.stop
    if bout.start < 0:
        raise InputError(path, f"row {bout.row}: {bout.name!r} starts before 0 s")
    if stop < bout.start:
        raise InputError(
            path,
            f"row {bout.row}: {bout.name!r} ends at {stop:g} s, before its start "
            f"at {bout.start:g} s",
        )
    if stop > (frame_count + 0.5) / fps:  # later times would place a bout after the last frame
        raise InputError(
            path,
            f"row {bout.row}: {bout.name!r} at {stop:g} s is beyond the video's end "
            f"({frame_count} frames at {fps:g} fps = {frame_count / fps:g} s)",
        )
    if bout.stop is None:
        first = min(math.floor(bout.start * fps), frame_count - 1)
        return first, first + 1
    first, last = (math.ceil(t * fps - 0.5) for t in (bout.start, bout.stop))
    return first, last


def _place_bouts(
    bouts: list[_Bout],
    lookup: dict[str, str],
    fps: float,
    frame_count: int,
    path: Path,
    media_duration: float | None,
) -> pd.DataFrame:
    """The per-frame table of ``bouts``: 1 in a bout, unknown in an unlabelled stretch or after
    ``media_duration`` (s), 0 elsewhere."""
    marked = [(bout, _marks(bout.name, lookup)) for bout in bouts]
    mapped = [(bout, marks) for bout, marks in marked if marks is not None]
    if bouts and not mapped:
        names = ", ".join(sorted({bout.name for bout in bouts}))
        raise InputError(
            path,
            f"no behaviour name maps to {' or '.join(BEHAVIOURS)} (found: {names}); "
            "see labels.mapping in params.yaml",
        )
    frames = {behaviour: np.zeros(frame_count, np.int8) for behaviour in BEHAVIOURS}
    unknown = {behaviour: np.zeros(frame_count, bool) for behaviour in BEHAVIOURS}
    # Unlabelled stretches first: a bout inside one is an error wherever the file lists it.
    for bout, (behaviours, unlabelled) in sorted(mapped, key=lambda item: not item[1][1]):
        first, last = _frame_range(bout, fps, frame_count, path)
        for behaviour in behaviours:
            if unlabelled:
                unknown[behaviour][first:last] = True
            elif unknown[behaviour][first:last].any():
                raise InputError(
                    path,
                    f"row {bout.row}: {bout.name!r} lies in a stretch marked {UNLABELLED} "
                    f"for {behaviour}",
                )
            else:
                frames[behaviour][first:last] = 1
    if media_duration is not None:
        # The frames that start after the media BORIS played: it showed them to nobody.
        for column in unknown.values():
            column[min(math.ceil(media_duration * fps), frame_count) :] = True
    return pd.DataFrame(
        {b: pd.Series(frames[b], dtype="Int8").mask(unknown[b]) for b in BEHAVIOURS}
    )


def _per_frame_columns(
    table: pd.DataFrame, lookup: dict[str, str], path: Path, *, unknown: str | None
) -> pd.DataFrame:
    """SimBA / DeepEthogram: OR (Kleene's: 1 or unknown is 1) of the 0/1 columns whose names
    map to each behaviour; an empty cell, or one holding ``unknown``, is an unknown frame."""
    sources: dict[str, list[Hashable]] = {behaviour: [] for behaviour in BEHAVIOURS}
    for name in table.columns:
        if header_key(name) in lookup:
            sources[lookup[header_key(name)]].append(name)
    missing = [behaviour for behaviour, names in sources.items() if not names]
    if missing:
        found = ", ".join(map(str, table.columns))
        raise InputError(
            path,
            f"no column for {', '.join(missing)} (see labels.mapping in params.yaml); "
            f"found: {found}",
        )
    result = {}
    for behaviour, names in sources.items():
        columns = []
        for source in names:
            cells = table[source].str.strip()
            cells = cells.mask(cells.isin(["", unknown]))
            columns.append(binary_column(cells, path).astype("boolean"))
        result[behaviour] = reduce(operator.or_, columns).astype("Int8")
    return pd.DataFrame(result).reset_index(drop=True)


# --- writing ------------------------------------------------------------------------------------


def _bout_rows(
    labels: pd.DataFrame, names: list[str], fps: float, label_format: str, observation: str
) -> pd.DataFrame:
    """One row per bout (or two events) of each behaviour's runs of 1s and of the unlabelled
    stretches (:data:`UNLABELLED` where every behaviour is unknown, ``Unlabelled <Behaviour>``
    where only that one is), in time order."""
    known = labels.notna().to_numpy()
    shown = labels.fillna(0).to_numpy(np.int8)
    nobody = ~np.any(known, axis=1)
    frame_runs = [(start, stop, UNLABELLED) for start, stop in bouts(nobody)]
    for column, name in enumerate(names):
        frame_runs += [(start, stop, name) for start, stop in bouts(shown[:, column])]
        alone = ~known[:, column] & ~nobody
        frame_runs += [(start, stop, f"{UNLABELLED} {name}") for start, stop in bouts(alone)]
    runs = [
        (round(start / fps, TIME_DECIMALS), round(stop / fps, TIME_DECIMALS), name)
        for start, stop, name in frame_runs
    ]
    runs.sort()
    duration = round(len(labels) / fps, TIME_DECIMALS)
    if label_format == "bouts":
        return pd.DataFrame(runs, columns=["from", "to", "type"])
    details = {"Observation id": observation, "Media duration (s)": duration, "FPS": fps}
    if label_format == "boris-aggregated":
        rows = [
            {
                **details,
                "Subject": "",
                "Behavior": name,
                "Behavior type": "STATE",
                "Start (s)": start,
                "Stop (s)": stop,
                "Duration (s)": round(stop - start, TIME_DECIMALS),
            }
            for start, stop, name in runs
        ]
        columns = ["Start (s)", "Stop (s)", "Duration (s)"]
    else:
        events = sorted(
            [(start, name, "START") for start, _, name in runs]
            + [(stop, name, "STOP") for _, stop, name in runs],
            # At one time a bout's STOP comes before the next one's START.
            key=lambda event: (event[0], event[2] == "START"),
        )
        rows = [
            {**details, "Subject": "", "Behavior": name, "Behavior type": status, "Time": time}
            for time, name, status in events
        ]
        columns = ["Time"]
    keys = [*details, "Subject", "Behavior", "Behavior type", *columns]
    return pd.DataFrame(rows, columns=keys)
