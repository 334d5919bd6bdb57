"""The dependency audit (``make audit``): pip-audit over this virtual environment, judged against
``audit-allowlist.toml``.

Fails (exit 1) on a known vulnerability the allow-list does not accept, on an allow-list entry
without a reason or past its expiry date, and on an audit that could not read the advisories of
every package. ``--unreachable warn`` (``make test``) lets one case pass with a warning: no
package's advisories could be read at all, the advisory service being out of reach; a partial
audit still fails.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import subprocess
import sys
import tempfile
import tomllib
from dataclasses import dataclass
from pathlib import Path

ALLOWLIST = Path(__file__).resolve().parents[1] / "audit-allowlist.toml"
ENTRY_KEYS = {"id", "package", "reason", "expires"}
# What pip-audit prints when the advisory service cannot be reached at all (OSV's, a proxy's).
_UNREACHABLE = re.compile(r"ConnectionError|NameResolutionError|Max retries exceeded|timed out")


@dataclass(frozen=True)
class Allowed:
    """An accepted vulnerability: why, and until when."""

    id: str
    package: str
    reason: str
    expires: dt.date


@dataclass(frozen=True)
class Finding:
    package: str
    version: str
    id: str
    aliases: tuple[str, ...]
    fixed_in: tuple[str, ...]


@dataclass(frozen=True)
class Verdict:
    audited: int
    skipped: dict[str, str]  # package: why its advisories could not be read
    findings: list[Finding]  # not allow-listed: each fails the audit
    allowed: list[tuple[Finding, Allowed]]
    unused: list[Allowed]  # entries no finding needs any more

    @property
    def unreachable(self) -> bool:
        """No package's advisories could be read: the service, not one package, is missing."""
        return self.audited == 0 and bool(self.skipped)


def normalise(package: str) -> str:
    """A package name as PyPI compares them (PEP 503)."""
    return re.sub(r"[-_.]+", "-", package).lower()


def read_allowlist(text: str, today: dt.date) -> tuple[dict[str, Allowed], list[str]]:
    """The allow-list's valid entries by vulnerability id, and what is wrong with the others:
    a missing or unknown key, an empty reason, an expiry date that is not a date or is past."""
    allowed: dict[str, Allowed] = {}
    problems = []
    for number, entry in enumerate(tomllib.loads(text).get("allow", []), start=1):
        where = f"audit-allowlist.toml entry {number} ({entry.get('id', 'no id')})"
        missing, unknown = ENTRY_KEYS - entry.keys(), entry.keys() - ENTRY_KEYS
        if missing or unknown:
            wrong = [f"no {key}" for key in sorted(missing)] + [f"unknown {k}" for k in unknown]
            problems.append(f"{where}: {', '.join(wrong)}")
            continue
        if not str(entry["reason"]).strip():
            problems.append(f"{where}: the reason is empty: say why it is accepted")
        elif not isinstance(entry["expires"], dt.date) or isinstance(entry["expires"], dt.datetime):
            problems.append(f"{where}: expires must be a date (expires = 2027-01-31)")
        elif entry["expires"] < today:
            problems.append(f"{where}: expired on {entry['expires']}: fix it, or renew the entry")
        elif entry["id"] in allowed:
            problems.append(f"{where}: listed twice")
        else:
            allowed[entry["id"]] = Allowed(
                entry["id"], normalise(entry["package"]), entry["reason"].strip(), entry["expires"]
            )
    return allowed, problems


def judge(report: dict, allowed: dict[str, Allowed]) -> Verdict:
    """Sort pip-audit's JSON report: findings the allow-list accepts (by id or alias, for that
    package) and the others, packages audited and skipped."""
    audited, skipped, findings, accepted = 0, {}, [], []
    used: set[str] = set()
    for dependency in report["dependencies"]:
        if "skip_reason" in dependency:
            skipped[dependency["name"]] = dependency["skip_reason"]
            continue
        audited += 1
        for vuln in dependency["vulns"]:
            finding = Finding(
                dependency["name"],
                dependency["version"],
                vuln["id"],
                tuple(vuln.get("aliases", ())),
                tuple(vuln.get("fix_versions", ())),
            )
            entry = next(
                (
                    allowed[name]
                    for name in (finding.id, *finding.aliases)
                    if name in allowed and allowed[name].package == normalise(finding.package)
                ),
                None,
            )
            if entry is None:
                findings.append(finding)
            else:
                accepted.append((finding, entry))
                used.add(entry.id)
    unused = [entry for name, entry in allowed.items() if name not in used]
    return Verdict(audited, skipped, findings, accepted, unused)


def run_pip_audit() -> tuple[dict | None, str]:
    """pip-audit's JSON report on this interpreter's environment (the project's own editable
    install left out: it is not on PyPI), or None and what it printed when it made none."""
    with tempfile.TemporaryDirectory() as folder:
        output = Path(folder) / "audit.json"
        command = [sys.executable, "-m", "pip_audit", "--local", "--skip-editable"]
        command += ["--format", "json", "--output", str(output), "--progress-spinner", "off"]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if output.is_file() and output.stat().st_size:
            return json.loads(output.read_text()), done.stderr
        return None, done.stderr + done.stdout


def describe(verdict: Verdict) -> list[str]:
    """The audit's result in lines: what was audited, accepted, found and not audited."""
    total = verdict.audited + len(verdict.skipped)
    lines = [f"audited {verdict.audited} of {total} packages"]
    for finding, entry in verdict.allowed:
        lines.append(
            f"allowed: {finding.package} {finding.version} {finding.id} until {entry.expires}: "
            f"{entry.reason}"
        )
    for finding in verdict.findings:
        fix = f"fixed in {', '.join(finding.fixed_in)}" if finding.fixed_in else "no fix yet"
        aliases = f" ({', '.join(finding.aliases)})" if finding.aliases else ""
        lines.append(
            f"VULNERABLE: {finding.package} {finding.version} {finding.id}{aliases}: {fix}"
        )
    for entry in verdict.unused:
        lines.append(f"note: allow-list entry {entry.id} ({entry.package}) matches nothing now")
    if verdict.skipped:
        name, why = next(iter(verdict.skipped.items()))
        lines.append(
            f"NOT AUDITED: {len(verdict.skipped)} packages, e.g. {name}: {why}"
            if len(verdict.skipped) > 1
            else f"NOT AUDITED: {name}: {why}"
        )
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--allowlist", type=Path, default=ALLOWLIST)
    parser.add_argument(
        "--unreachable",
        choices=("fail", "warn"),
        default="fail",
        help="when no advisory could be read at all: fail (default) or pass with a warning",
    )
    args = parser.parse_args(argv)
    allowed, problems = read_allowlist(args.allowlist.read_text(), dt.date.today())
    for problem in problems:
        print(f"error: {problem}", file=sys.stderr)
    report, printed = run_pip_audit()
    if report is not None:
        verdict = judge(report, allowed)
        for line in describe(verdict):
            print(line)
        failed, incomplete = bool(verdict.findings), bool(verdict.skipped)
        unreachable = verdict.unreachable
    elif _UNREACHABLE.search(printed):  # OSV's service: pip-audit stops at its first query
        print(f"NOT AUDITED: no advisory service answered: {printed.strip().splitlines()[-1]}")
        failed, incomplete, unreachable = False, True, True
    else:
        print(f"error: pip-audit failed: {printed.strip() or 'no output'}", file=sys.stderr)
        return 1
    if incomplete and unreachable and args.unreachable == "warn":
        print(
            "WARNING: the dependency audit was NOT done: no advisory could be read (PyPI's "
            "per-version JSON API or OSV out of reach); run `make audit` where they are.",
            file=sys.stderr,
        )
    elif incomplete:
        failed = True
    return 1 if failed or problems else 0


if __name__ == "__main__":
    sys.exit(main())
