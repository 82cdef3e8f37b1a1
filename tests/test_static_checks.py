"""Static checks run with the tests: bandit finds nothing of high severity, and pip-audit knows of no
vulnerability in any installed dependency (where its vulnerability service can be reached)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # bandit and pip-audit over the whole package

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("worrybox", "kiosk", "staff_console")


def test_bandit_finds_no_high_severity_issue():
    result = subprocess.run([sys.executable, "-m", "bandit", "-r", *PACKAGES, "-q", "-f", "json"], cwd=ROOT,
                            capture_output=True, text=True, timeout=120)
    report = json.loads(result.stdout)
    assert not report["errors"], report["errors"]
    high = ["%s:%s %s %s" % (issue["filename"], issue["line_number"], issue["test_id"], issue["issue_text"])
            for issue in report["results"] if issue["issue_severity"] == "HIGH"]
    assert not high, "\n".join(high)


def test_pip_audit_finds_no_known_vulnerability_in_the_installed_dependencies():
    try:
        result = subprocess.run([sys.executable, "-m", "pip_audit", "--local", "--skip-editable",
                                 "--progress-spinner", "off", "--format", "json", "--timeout", "20"],
                                cwd=ROOT, capture_output=True, text=True, timeout=240)
    except subprocess.TimeoutExpired:
        pytest.skip("pip-audit could not reach its vulnerability service within 4 minutes (offline?)")
    try:
        report = json.loads(result.stdout)
    except json.JSONDecodeError:
        pytest.skip("pip-audit could not run against the package index (offline?): %s"
                    % (result.stderr.strip().splitlines() or ["no message"])[-1])
    dependencies = [dep for dep in report["dependencies"] if dep.get("skip_reason") != "distribution marked as editable"]
    audited = [dep for dep in dependencies if "skip_reason" not in dep]
    if not audited:
        pytest.skip("pip-audit reached no vulnerability data for any of the %d installed packages (the package "
                    "index here does not serve PyPI's per-version JSON API); nothing was audited"
                    % len(dependencies))
    vulnerable = ["%s %s: %s" % (dep["name"], dep["version"], ", ".join(v["id"] for v in dep["vulns"]))
                  for dep in audited if dep.get("vulns")]
    assert not vulnerable, "\n".join(vulnerable)
