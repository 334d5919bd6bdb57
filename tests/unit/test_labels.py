import pandas as pd
import pytest

from ethoflow.errors import InputError
from ethoflow.io.atomic import write_csv
from ethoflow.io.labels import normalize_labels, read_labels


@pytest.mark.parametrize(
    "headers",
    [
        ("Grooming", "Mid Rearing", "Wall Rearing"),
        ("grooming", "mid_rearing", "wall_rearing"),
        (" Grooming", "MidRearing ", "Wall  Rearing"),
        ("GROOMING", "Mid rearing", "Wall-Rearing"),
    ],
)
def test_old_format_merges_mid_and_wall_rearing(tmp_path, headers):
    path = tmp_path / "old.csv"
    pd.DataFrame(
        dict(zip(headers, ([1, 0, 0, 0], [0, 1, 0, 1], [0, 0, 1, 1]), strict=True))
    ).to_csv(path, index=False)
    labels = read_labels(path)
    assert list(labels.columns) == ["grooming", "rearing"]
    assert labels.grooming.tolist() == [1, 0, 0, 0]
    assert labels.rearing.tolist() == [0, 1, 1, 1]
    assert (labels.dtypes == "Int8").all()


@pytest.mark.parametrize("headers", [("Grooming", "Rearing"), ("grooming ", " REARING")])
def test_new_format(tmp_path, headers):
    path = tmp_path / "new.csv"
    table = pd.DataFrame({"frame": [0, 1, 2], headers[0]: [0, 1, 1], headers[1]: [1, 0, 0]})
    table.to_csv(path, index=False)
    labels = read_labels(path)
    assert labels.to_dict("list") == {"grooming": [0, 1, 1], "rearing": [1, 0, 0]}


def test_float_zero_one_is_accepted():
    labels = normalize_labels(pd.DataFrame({"Grooming": [0.0, 1.0], "Rearing": [1.0, 0.0]}))
    assert labels.grooming.tolist() == [0, 1]


def test_round_trip_through_write_csv(tmp_path):
    table = pd.DataFrame({"grooming": [0, 1], "rearing": [1, None]}, dtype="Int8")
    write_csv(table, tmp_path / "out.csv")
    pd.testing.assert_frame_equal(read_labels(tmp_path / "out.csv"), table)
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]  # no temporary file left


@pytest.mark.parametrize(
    ("table", "problem"),
    [
        ({"Grooming": [0, 1]}, r"missing label column\(s\) Rearing"),
        ({"Rearing": [0, 1]}, r"missing label column\(s\) Grooming"),
        ({"Grooming": [0], "Mid Rearing": [1]}, r"missing label column\(s\) Wall Rearing"),
        ({"Grooming": [0], "Wall Rearing": [1]}, r"missing label column\(s\) Mid Rearing"),
        (
            {"Grooming": [0, 2], "Rearing": [0, 1]},
            r"'Grooming' must hold only 0 or 1; found 2 at row",
        ),
        (
            {"Grooming": [0, 1], "Rearing": ["yes", 1]},
            r"'Rearing' must hold only 0 or 1; found yes",
        ),
        ({"Grooming": [0, 0.5], "Rearing": [0, 1]}, r"found 0\.5 at row\(s\) 3"),
        ({"Grooming": [None, None], "Rearing": [None, None]}, r"no frame is labelled"),
        ({"Grooming": [0], "grooming ": [1], "Rearing": [0]}, r"name the same behaviour"),
    ],
)
def test_bad_tables_name_the_file_and_problem(tmp_path, table, problem):
    path = tmp_path / "bad.csv"
    pd.DataFrame(table).to_csv(path, index=False)
    with pytest.raises(InputError, match=problem) as info:
        read_labels(path)
    assert str(path) in str(info.value)


def test_empty_file(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_text("")
    with pytest.raises(InputError, match="label file is empty"):
        read_labels(path)


def test_excel_windows_1252_file_is_read(tmp_path):
    path = tmp_path / "m1.csv"
    path.write_bytes("Grooming;Rearing;Remarque\n1;0;agitée\n0;1;µ\n".encode("cp1252"))
    assert read_labels(path).to_dict("list") == {"grooming": [1, 0], "rearing": [0, 1]}


def test_binary_file(tmp_path):
    path = tmp_path / "garbage.csv"
    path.write_bytes(bytes(range(256)) * 4)
    with pytest.raises(InputError, match=f"{path}: not a text file in UTF-8 or Windows-1252"):
        read_labels(path)


def test_missing_file(tmp_path):
    with pytest.raises(InputError, match="label file not found"):
        read_labels(tmp_path / "absent.csv")
