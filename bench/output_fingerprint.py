"""Fingerprints of what the pipeline computes, to show that a change of code changed no output.

Made for the package restructure (issue 32): run it in two checkouts, each after its own
``ethoflow demo``, and compare the two JSON files; every fingerprint must match.

    .venv/bin/ethoflow demo && .venv/bin/python bench/output_fingerprint.py --out /tmp/a.json
    python bench/output_fingerprint.py --compare /tmp/a.json /tmp/b.json

Run it from the checkout's root with the checkout's own ``.venv/bin/python`` (the file itself may
live in another checkout). It fingerprints (SHA-256 of arrays and files; nothing that holds a
time, a path or a run id):

- the 16 lab recordings' tracks (``ethoflow track``) and what ingest made of them
  (``data/features/``: per-frame features, feature CSVs with the track and labels, manifest);
- the real videos of ``--real`` (default ``/work/shared/realdev/videos``): their tracks
  (``ethoflow track``), their features (the featurisation ingest and labelling share, called
  directly) and their labels by the demo's champions (``ethoflow label``);
- the demo's own results: the inbox's labels, the held-out agreement table
  (``data/outbox/agreement.csv``), the training and evaluation reports (``reports/``), and from
  MLflow's registry the promotion decisions, the champion aliases and the model versions' tags
  (scores, thresholds, windows).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

REAL_VIDEOS = Path("/work/shared/realdev/videos")
# Registry tags that hold a time, a run id or a path rather than a result.
VOLATILE_TAGS = ("git_commit", "decided_at", "mlflow.", "run_id", "source")


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    return sha256_bytes(path.read_bytes())


def sha256_array(array: np.ndarray) -> str:
    """The array's dtype, shape and bytes (not the .npy header's layout)."""
    array = np.ascontiguousarray(array)
    return sha256_bytes(f"{array.dtype.str}{array.shape}".encode() + array.tobytes())


def sha256_json(value: object) -> str:
    return sha256_bytes(json.dumps(value, sort_keys=True, default=str).encode())


def ethoflow(*args: str) -> int:
    """Run this checkout's ``ethoflow`` command (the one beside this Python); its exit status."""
    command = [str(Path(sys.executable).with_name("ethoflow")), *args]
    done = subprocess.run(command, stdout=subprocess.DEVNULL)
    return done.returncode


def tracked(videos: list[Path], out: Path) -> dict:
    """``ethoflow track``'s track.csv and summary (without its source path) per recording."""
    status = ethoflow("track", *map(str, videos), "--out", str(out))
    result: dict = {"exit_status": status}
    for video in videos:
        folder = out / video.stem
        if not (folder / "track.csv").exists():
            result[video.stem] = "no track (quarantined)"
            continue
        summary = json.loads((folder / "summary.json").read_text())
        summary.pop("source")
        result[video.stem] = {
            "track.csv": sha256_file(folder / "track.csv"),
            "summary": sha256_json(summary),
        }
    return result


def labelled(videos: list[Path], out: Path) -> dict:
    """``ethoflow label``'s labels.csv per video, with the demo's champions."""
    status = ethoflow("label", *map(str, videos), "--out", str(out))
    result: dict = {"exit_status": status}
    for video in videos:
        labels = out / video.stem / "labels.csv"
        result[video.stem] = sha256_file(labels) if labels.exists() else "no labels (quarantined)"
    return result


def featurization():
    """The featurisation ingest and labelling share, from ``params.yaml``; the one place that
    knows both package layouts (before and after issue 32's restructure)."""
    from ethoflow.config import load_settings

    try:
        from ethoflow.features.featurization import Featurization
    except ModuleNotFoundError:  # before the restructure
        from ethoflow.featurization import Featurization
    return Featurization.from_settings(load_settings("params.yaml"))


def real_features(videos: list[Path]) -> dict:
    """Each video's features, track, set-up numbers and track verdict, as labelling makes them."""
    featurize = featurization()
    extractor = featurize.build_extractor()
    result = {"featurization_id": featurize.id}
    for video in videos:
        got = featurize.featurize_video(video, extractor)
        result[video.stem] = {
            "features": sha256_array(got.features),
            "shape": list(got.features.shape),
            "track": sha256_bytes(got.track.to_csv(index=False).encode()),
            "setup": sha256_json(got.setup),
            "quality": sha256_json(got.quality.summary()),
        }
    return result


def lab_features(features: Path) -> dict:
    """Ingest's outputs: per-video arrays and CSVs, the manifest and the quarantine list."""
    result = {}
    for path in sorted((features / "videos").glob("*.npy")):
        result[path.name] = sha256_array(np.load(path))
    for path in sorted((features / "videos").glob("*.csv")):
        result[path.name] = sha256_file(path)
    for name in ("manifest.csv", "quarantine.csv"):
        result[name] = sha256_file(features / name)
    return result


def registry(database: Path) -> dict:
    """From MLflow's SQLite store: each promotion decision (params and scores), the aliases,
    and a fingerprint of every model version's tags but the volatile ones."""
    db = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    runs = db.execute(
        "SELECT r.run_uuid FROM runs r JOIN experiments e USING (experiment_id) "
        "WHERE e.name = 'ethoflow-decisions' ORDER BY r.start_time, r.run_uuid"
    ).fetchall()
    decisions = []
    for (run,) in runs:
        params = dict(db.execute("SELECT key, value FROM params WHERE run_uuid = ?", (run,)))
        scores = dict(db.execute("SELECT key, value FROM metrics WHERE run_uuid = ?", (run,)))
        decisions.append({**params, **scores})
    aliases = db.execute(
        "SELECT name, alias, version FROM registered_model_aliases ORDER BY name, alias"
    ).fetchall()
    tags = [
        row
        for row in db.execute(
            "SELECT name, version, key, value FROM model_version_tags ORDER BY name, version, key"
        )
        if not any(word in row[2] for word in VOLATILE_TAGS)
    ]
    return {
        "decisions": decisions,
        "aliases": [list(a) for a in aliases],
        "model_version_tags": sha256_json(tags),
        "model_version_tag_count": len(tags),
    }


def promotion_reasons(database: Path) -> list[list[str]]:
    """Each candidate's ``promotion_decision`` tag (promoted or refused, and why)."""
    db = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    rows = db.execute(
        "SELECT name, version, value FROM model_version_tags WHERE key = 'promotion_decision' "
        "ORDER BY name, version"
    )
    return [list(row) for row in rows]


def fingerprint(real: Path) -> dict:
    """All fingerprints of the checkout in the working directory (after ``ethoflow demo``)."""
    from ethoflow.config import load_settings

    settings = load_settings("params.yaml")
    database = Path(settings.tracking_uri.removeprefix("sqlite:///"))
    lab = sorted(settings.paths.raw.rglob("*.mp4"))
    videos = sorted(real.glob("*.mp4"))
    outbox = settings.paths.outbox
    agreement = pd.read_csv(outbox / "agreement.csv")
    result = {
        # The demo's results first: the commands below must not be able to change them.
        "demo_agreement": sha256_file(outbox / "agreement.csv"),
        "demo_agreement_table": agreement.to_dict(orient="records"),
        "demo_inbox_labels": {
            p.parent.name: sha256_file(p) for p in sorted(outbox.glob("*/labels.csv"))
        },
        "demo_registry": registry(database),
        "demo_promotion_reasons": promotion_reasons(database),
        "demo_reports": {
            str(p.relative_to("reports")): sha256_file(p)
            for p in sorted(Path("reports").rglob("*.*"))
        },
        "lab_features": lab_features(settings.paths.features),
    }
    with tempfile.TemporaryDirectory(prefix="fingerprint-") as work:
        result["lab_tracks"] = tracked(lab, Path(work) / "lab_tracks")
        result["real_tracks"] = tracked(videos, Path(work) / "real_tracks")
        result["real_labels"] = labelled(videos, Path(work) / "real_labels")
    result["real_features"] = real_features(videos)
    return result


def leaves(value: object, key: str = "") -> dict[str, object]:
    """Nested dicts flattened to ``/a/b/c: value`` (lists stay whole)."""
    if not isinstance(value, dict):
        return {key: value}
    flat = {}
    for name, sub in value.items():
        flat |= leaves(sub, f"{key}/{name}")
    return flat


def compare(a: Path, b: Path) -> int:
    """Print each fingerprint that differs between two JSON files; 1 if any does."""
    left = leaves(json.loads(a.read_text())["fingerprints"])
    right = leaves(json.loads(b.read_text())["fingerprints"])
    differ = sorted(k for k in left.keys() | right.keys() if left.get(k) != right.get(k))
    for key in differ:
        print(f"{key}: {left.get(key, '<missing>')} != {right.get(key, '<missing>')}")
    print(f"{len(left.keys() | right.keys()) - len(differ)} identical, {len(differ)} differ")
    return 1 if differ else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, help="JSON file to write (default: stdout)")
    parser.add_argument("--real", type=Path, default=REAL_VIDEOS, help="folder of real videos")
    parser.add_argument("--compare", nargs=2, type=Path, metavar="JSON", help="compare two runs")
    args = parser.parse_args()
    if args.compare:
        sys.exit(compare(*args.compare))
    commit = subprocess.run(
        ["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()
    text = json.dumps({"commit": commit, "fingerprints": fingerprint(args.real)}, indent=1)
    if args.out:
        args.out.write_text(text + "\n")
    else:
        print(text)


if __name__ == "__main__":
    main()
