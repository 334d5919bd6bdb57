"""The dependency audit's rules (tools/audit.py): the allow-list and the verdict."""

from __future__ import annotations

import datetime as dt
import importlib.util
import sys
from pathlib import Path

import pytest

TOOL = Path(__file__).resolve().parents[2] / "tools" / "audit.py"
_spec = importlib.util.spec_from_file_location("audit_tool", TOOL)
assert _spec is not None and _spec.loader is not None
audit = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = audit  # dataclasses look their module up there
_spec.loader.exec_module(audit)

TODAY = dt.date(2026, 12, 7)
ENTRY = """
[[allow]]
id = "GHSA-aaaa-bbbb-cccc"
package = "Some_Package"
reason = "only its server mode is affected, which ethoflow never starts"
expires = {expires}
"""


def entry(expires: str = "2027-01-31", **changes: str) -> str:
    text = ENTRY.format(expires=expires)
    for key, value in changes.items():
        text = "\n".join(
            f"{key} = {value}" if line.startswith(f"{key} =") else line
            for line in text.splitlines()
        )
    return text


def test_a_valid_entry_is_allowed():
    allowed, problems = audit.read_allowlist(entry(), TODAY)
    assert problems == []
    assert allowed["GHSA-aaaa-bbbb-cccc"].package == "some-package"
    assert allowed["GHSA-aaaa-bbbb-cccc"].expires == dt.date(2027, 1, 31)


def test_an_entry_expiring_today_still_holds():
    allowed, problems = audit.read_allowlist(entry(str(TODAY)), TODAY)
    assert problems == [] and list(allowed) == ["GHSA-aaaa-bbbb-cccc"]


@pytest.mark.parametrize(
    ("text", "says"),
    [
        (entry("2026-12-06"), "expired on 2026-12-06"),
        (entry(reason='"  "'), "reason is empty"),
        (entry(expires='"soon"'), "expires must be a date"),
        (entry(expires="2027-01-31T00:00:00"), "expires must be a date"),
        ('[[allow]]\nid = "X"\npackage = "p"\nexpires = 2027-01-31', "no reason"),
        (entry() + 'ticket = "42"\n', "unknown ticket"),
        (entry() + entry(), "listed twice"),
    ],
)
def test_a_bad_entry_is_refused_and_says_why(text, says):
    allowed, problems = audit.read_allowlist(text, TODAY)
    assert len(problems) == 1 and says in problems[0], problems
    assert len(allowed) == (1 if says == "listed twice" else 0)


def test_the_shipped_allowlist_is_valid():
    _, problems = audit.read_allowlist(audit.ALLOWLIST.read_text(), dt.date.today())
    assert problems == []


def report(*dependencies: dict) -> dict:
    return {"dependencies": list(dependencies), "fixes": []}


def vulnerable(name: str, *ids: str, aliases: tuple[str, ...] = ()) -> dict:
    vulns = [{"id": i, "aliases": list(aliases), "fix_versions": ["9.9"]} for i in ids]
    return {"name": name, "version": "1.0", "vulns": vulns}


def test_findings_are_allowed_by_id_or_alias_for_their_package_only():
    allowed, _ = audit.read_allowlist(entry(), TODAY)
    verdict = audit.judge(
        report(
            vulnerable("some-package", "PYSEC-1", aliases=("GHSA-aaaa-bbbb-cccc",)),
            vulnerable("other", "GHSA-aaaa-bbbb-cccc"),  # the same id, another package
            vulnerable("clean"),
        ),
        allowed,
    )
    assert verdict.audited == 3 and verdict.skipped == {}
    assert [(f.package, entry.id) for f, entry in verdict.allowed] == [
        ("some-package", "GHSA-aaaa-bbbb-cccc")
    ]
    assert [(f.package, f.id) for f in verdict.findings] == [("other", "GHSA-aaaa-bbbb-cccc")]
    lines = audit.describe(verdict)
    assert any(line.startswith("VULNERABLE: other 1.0 GHSA-aaaa") for line in lines)
    assert any("server mode" in line for line in lines)  # the accepted one, with its reason


def test_an_entry_nothing_needs_is_noted():
    allowed, _ = audit.read_allowlist(entry(), TODAY)
    verdict = audit.judge(report(vulnerable("some-package")), allowed)
    assert [e.id for e in verdict.unused] == ["GHSA-aaaa-bbbb-cccc"]


def test_skipped_packages_make_the_audit_incomplete_and_all_skipped_unreachable():
    skipped = {"name": "numpy", "skip_reason": "Dependency not found on PyPI"}
    partial = audit.judge(report(vulnerable("clean"), skipped), {})
    assert partial.skipped == {"numpy": "Dependency not found on PyPI"}
    assert not partial.unreachable
    assert audit.judge(report(skipped), {}).unreachable


@pytest.mark.parametrize(
    ("dependencies", "unreachable", "status"),
    [
        ([vulnerable("clean")], "fail", 0),
        ([vulnerable("bad", "PYSEC-2")], "warn", 1),
        ([{"name": "numpy", "skip_reason": "not found"}], "fail", 1),
        ([{"name": "numpy", "skip_reason": "not found"}], "warn", 0),
        ([vulnerable("clean"), {"name": "numpy", "skip_reason": "not found"}], "warn", 1),
    ],
)
def test_exit_status(dependencies, unreachable, status, monkeypatch, tmp_path, capsys):
    """A vulnerability always fails; an incomplete audit fails, unless no advisory could be read
    at all and the caller said to warn."""
    monkeypatch.setattr(audit, "run_pip_audit", lambda: (report(*dependencies), ""))
    allowlist = tmp_path / "allow.toml"
    allowlist.write_text("")
    assert audit.main(["--allowlist", str(allowlist), "--unreachable", unreachable]) == status


def test_an_invalid_allowlist_fails_even_a_clean_audit(monkeypatch, tmp_path):
    monkeypatch.setattr(audit, "run_pip_audit", lambda: (report(vulnerable("clean")), ""))
    allowlist = tmp_path / "allow.toml"
    allowlist.write_text(entry("2020-01-01"))
    assert audit.main(["--allowlist", str(allowlist)]) == 1


def test_an_unreachable_service_is_told_apart_from_a_broken_run(monkeypatch, tmp_path):
    allowlist = tmp_path / "allow.toml"
    allowlist.write_text("")
    refused = "requests.exceptions.ConnectionError: Max retries exceeded with url: /v1/query"
    monkeypatch.setattr(audit, "run_pip_audit", lambda: (None, refused))
    assert audit.main(["--allowlist", str(allowlist), "--unreachable", "warn"]) == 0
    assert audit.main(["--allowlist", str(allowlist)]) == 1
    monkeypatch.setattr(audit, "run_pip_audit", lambda: (None, "error: no such option"))
    assert audit.main(["--allowlist", str(allowlist), "--unreachable", "warn"]) == 1
