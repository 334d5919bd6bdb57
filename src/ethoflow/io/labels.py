"""Per-frame label tables: read either of the lab's formats into columns ``grooming``, ``rearing``.

Older files have three behaviour columns (Grooming, Mid Rearing, Wall Rearing) that merge into one
Rearing column by logical OR; newer files have Grooming and Rearing. Header case, spacing and
punctuation vary between annotators, so headers are compared by their letters and digits only.

**Unknown frames.** A cell may be empty: nobody said whether that frame shows the behaviour (a
person labelled stretches, a review answered some, a BORIS observation covered part of the
video). Unknown is not 0: it is kept as a missing value (pandas' nullable ``Int8``, ``<NA>``) in
tables and as NaN in float arrays (:func:`label_targets`), written back as an empty cell, and left
out of training (weight 0), threshold choice, evaluation, the split's and the drift profile's
counts. A file must label at least one frame.
"""

from __future__ import annotations

import io
import re
from collections.abc import Collection
from pathlib import Path

import numpy as np
import pandas as pd

from ethoflow.errors import InputError

BEHAVIOURS = ("grooming", "rearing")
# The label schema, shared with the Great Expectations suite (ethoflow.data.validation): header key
# -> the column's name as annotators write it.
COLUMN_NAMES = {
    "grooming": "Grooming",
    "rearing": "Rearing",
    "midrearing": "Mid Rearing",
    "wallrearing": "Wall Rearing",
}
OLD_REARING = ("midrearing", "wallrearing")


def required_columns(keys: Collection[str]) -> list[str]:
    """The header keys a table with header keys ``keys`` must have.

    Grooming, and Rearing or both old rearing columns: half of the old format means a cut or
    mislabelled file, not an absent bout type.
    """
    required = ["grooming"]
    old = any(key in keys for key in OLD_REARING)
    if old:
        required += OLD_REARING
    if "rearing" in keys or not old:
        required.append("rearing")
    return required


def header_key(name: object) -> str:
    """A header reduced to lower-case letters and digits: ``" Wall  Rearing"`` → ``wallrearing``."""
    return re.sub(r"[^a-z0-9]", "", str(name).lower())


def normalize_labels(table: pd.DataFrame, *, source: str | Path = "<table>") -> pd.DataFrame:
    """Return a ``grooming``/``rearing`` table of nullable ``Int8`` 0/1/<NA> from either format.

    An empty cell is an unknown frame (<NA>); an old-format Rearing is 1 where either rearing
    column is 1, 0 where both are 0, unknown otherwise. Other columns (a frame index, notes) are
    ignored. Raises :class:`InputError` naming ``source`` when a behaviour column is missing or
    a value is not 0 or 1.
    """
    columns: dict[str, list[str]] = {}
    for name in table.columns:
        columns.setdefault(header_key(name), []).append(name)
    duplicated = [names for names in columns.values() if len(names) > 1]
    if duplicated:
        raise InputError(source, f"columns {duplicated[0]} name the same behaviour")

    rearing_sources = [key for key in ("rearing", *OLD_REARING) if key in columns]
    missing = [
        "Rearing (or Mid Rearing + Wall Rearing)" if key == "rearing" else COLUMN_NAMES[key]
        for key in required_columns(columns)
        if key not in columns
    ]
    if missing:
        found = ", ".join(map(str, table.columns)) or "none"
        raise InputError(source, f"missing label column(s) {', '.join(missing)}; found: {found}")

    checked = {
        key: binary_column(table[columns[key][0]], source) for key in ("grooming", *rearing_sources)
    }
    # Kleene logic: 1 or unknown is 1; 0 or unknown is unknown.
    rearing = checked[rearing_sources[0]].astype("boolean")
    for key in rearing_sources[1:]:
        rearing = rearing | checked[key].astype("boolean")
    return pd.DataFrame(
        {"grooming": checked["grooming"], "rearing": rearing.astype("Int8")}
    ).reset_index(drop=True)


def binary_column(column: pd.Series, source: str | Path) -> pd.Series:
    """``column`` as nullable Int8 0/1, an empty cell <NA> (unknown); InputError naming
    ``source``, the column and rows for any other value."""
    values = pd.to_numeric(column, errors="coerce")
    empty = column.isna()
    bad = ~empty & (values.isna() | ~values.isin([0, 1]))
    if bad.any():
        rows = _row_list(bad[bad].index)
        shown = sorted({str(v) for v in column[bad].head(5)})
        raise InputError(
            source,
            f"column {column.name!r} must hold only 0 or 1; found {', '.join(shown)} "
            f"at row(s) {rows}",
        )
    return values.astype("Int8")


def label_targets(column: pd.Series | np.ndarray) -> np.ndarray:
    """A label column as float32 0/1 with NaN for unknown frames: the form models train on."""
    return pd.to_numeric(pd.Series(column)).to_numpy(np.float32, na_value=np.nan)


def labelled(column: pd.Series | np.ndarray) -> np.ndarray:
    """Which frames of a label column (table, float or 0/1 array) are labelled (not unknown)."""
    known: np.ndarray = ~np.isnan(label_targets(column))
    return known


def _row_list(index: pd.Index, limit: int = 5) -> str:
    # Row numbers as a spreadsheet shows them: header is row 1, first data row is row 2.
    rows = [str(i + 2) for i in index[:limit]]
    return ", ".join(rows) + (f" … ({len(index)} in all)" if len(index) > limit else "")


def read_text(path: Path) -> str:
    """A label file's text: UTF-8 (a byte-order mark or not), else Windows-1252, what Excel on
    Windows saves as "CSV" (accented names, µ, °). Raises :class:`InputError` if it is neither."""
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:
        raise InputError(
            path, 'not a text file in UTF-8 or Windows-1252: save it from Excel as "CSV UTF-8"'
        ) from None


def parse_label_csv(path: str | Path) -> pd.DataFrame:
    """The label CSV's table as written (headers untouched), parsed the same way for
    :func:`read_labels` and the Great Expectations checks (:mod:`ethoflow.data.validation`).

    Spreadsheet exports are read as they come: UTF-8 or Windows-1252 text (:func:`read_text`),
    a byte-order mark and CRLF line ends (pandas handles both), and semicolons as the separator
    (Excel writes them wherever the decimal mark is a comma, and its users cannot easily change
    that), recognised by a header that reads as one column containing ";". A cell holding only
    spaces is empty; "NA", "null" and the like are values (reported as not 0/1), not empty cells.
    Unreadable files raise pandas' ``EmptyDataError`` or ``ParserError``, or :class:`InputError`.
    """
    text = read_text(Path(path))

    def parse(separator: str, nrows: int | None = None) -> pd.DataFrame:
        return pd.read_csv(
            io.StringIO(text),
            sep=separator,
            nrows=nrows,
            skipinitialspace=True,
            keep_default_na=False,
            na_values=[""],
        )

    # The header alone decides the separator: a semicolon file's rows may not parse with commas.
    header = parse(",", nrows=0).columns
    separator = ";" if len(header) == 1 and ";" in str(header[0]) else ","
    return parse(separator)


def source_frames(path: str | Path) -> np.ndarray | None:
    """The ``frame`` column of a ``labels.csv`` that ``ethoflow label`` wrote: the source-video
    frame each row of the models' clock shows (:func:`ethoflow.labelling.recording.label_table`);
    None for a file without one (a person's per-frame labels)."""
    table = parse_label_csv(path)
    column = next((name for name in table.columns if header_key(name) == "frame"), None)
    if column is None or "time_s" not in table.columns:
        return None
    frames = pd.to_numeric(table[column], errors="coerce")
    if frames.isna().any() or (frames.diff().dropna() < 0).any():
        raise InputError(path, f"column {column!r} must hold frame numbers in increasing order")
    return frames.to_numpy(np.int64)


def read_labels(path: str | Path) -> pd.DataFrame:
    """Read a label CSV in either format and normalise it (see :func:`normalize_labels`).

    Empty cells are unknown frames. Raises :class:`InputError` naming the file for a missing,
    empty, header-only or unparseable file, one labelling no frame, and for every problem
    :func:`normalize_labels` finds.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "label file not found")
    try:
        table = parse_label_csv(path)
    except pd.errors.EmptyDataError as exc:
        raise InputError(path, "label file is empty") from exc
    except pd.errors.ParserError as exc:
        raise InputError(path, f"not a readable CSV file: {exc}") from exc
    if len(table) == 0:
        # Otherwise a header-only file reads as a valid zero-frame table.
        raise InputError(path, "label file has a header but no label rows")
    labels = normalize_labels(table, source=path)
    if labels.isna().all().all():
        raise InputError(path, "every cell is empty: no frame is labelled")
    return labels


def as_binary(values: np.ndarray, what: str) -> np.ndarray:
    """``values`` as 1-D int8 0/1; ValueError naming ``what`` otherwise."""
    array = np.asarray(values)
    if array.ndim != 1:
        raise ValueError(f"{what} must be 1-D, got shape {array.shape}")
    invalid = ~np.isin(array, (0, 1))
    if invalid.any():
        raise ValueError(f"{what} must be 0/1, found {np.unique(array[invalid])[:5].tolist()}")
    return array.astype(np.int8)


def bouts(binary: np.ndarray) -> list[tuple[int, int]]:
    """The runs of 1s as half-open ``(start, stop)`` frame ranges, in order."""
    padded = np.concatenate(([0], as_binary(binary, "binary"), [0]))
    edges = np.flatnonzero(np.diff(padded))
    return [(int(start), int(stop)) for start, stop in zip(edges[::2], edges[1::2], strict=True)]
