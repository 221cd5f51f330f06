"""``--format junit``: the findings as JUnit XML test results.

Why: Jenkins, GitLab and Azure DevOps show a JUnit file as a run's test results (a "Tests" tab, a
failed-test count, history per test) without any plugin for secret scanners. One ``<testsuite>``
per run (inside ``<testsuites>``), one ``<testcase>`` per finding with a ``<failure>`` that names
the rule, severity, place and the redacted value (never the secret), one ``<skipped>`` test case
per suppressed finding (with what hid it), one ``<error>`` test case per file that could not be
read, and a single passing test case when there is nothing to report: CI tools read a file with no
test case as "no tests ran". The document is valid against the JUnit schema Jenkins uses
(``tests/fixtures/jenkins-junit.xsd``).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from trussguard import __version__
from trussguard.results import ScanResult

# characters XML 1.0 cannot hold at all (a crafted path could carry them): shown as \\xNN instead
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def render(result: ScanResult) -> str:
    suite = ET.Element("testsuite", name=f"trussguard {result.mode}", tests="0", failures="0", errors="0",
                       skipped="0", time=f"{result.stats.duration_seconds:.3f}")
    properties = ET.SubElement(suite, "properties")
    for name, value in (("tool", f"trussguard {__version__}"), ("mode", result.mode), ("target", result.target),
                        ("files_scanned", str(result.stats.files_scanned))):
        ET.SubElement(properties, "property", name=name, value=_xml(value))
    failures = errors = skipped = 0
    for f in result.findings:
        case = _case(suite, f"{f.rule_id} at {f.path}:{f.line}", f"trussguard.{result.mode}.{f.kind}")
        failures += 1
        failure = ET.SubElement(case, "failure", type=f.rule_id,
                                message=_xml(f"{f.severity} {f.title} ({f.rule_id}) at {f.path}:{f.line}"))
        failure.text = _xml(_finding_text(f, f.advisory_id in result.rotated))
    for x in result.suppressed:
        case = _case(suite, f"{x.rule_id} at {x.path}:{x.line} (suppressed)", f"trussguard.{result.mode}.suppressed")
        skipped += 1
        ET.SubElement(case, "skipped").text = _xml(f"suppressed by {x.kind} ({x.by})"
                                                   + (f"; value {x.redacted}" if x.redacted else ""))
    for k in result.errors:
        case = _case(suite, f"read {k.path}", f"trussguard.{result.mode}.unreadable")
        errors += 1
        ET.SubElement(case, "error", type=k.reason, message=_xml(f"{k.path}: {k.reason}: {k.detail}"))
    if failures + errors == 0:
        _case(suite, "no credentials or Truss secret problems found", f"trussguard.{result.mode}")
    suite.set("tests", str(len(suite.findall("testcase"))))
    suite.set("failures", str(failures))
    suite.set("errors", str(errors))
    suite.set("skipped", str(skipped))
    root = ET.Element("testsuites", name="trussguard", tests=suite.get("tests"), failures=str(failures),
                      errors=str(errors), time=suite.get("time"))
    root.append(suite)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _case(suite: ET.Element, name: str, classname: str) -> ET.Element:
    return ET.SubElement(suite, "testcase", name=_xml(name), classname=_xml(classname), time="0")


def _finding_text(f, rotated: bool) -> str:
    lines = [f.message, f"rule: {f.rule_id}", f"severity: {f.severity}", f"location: {f.path}:{f.line}"
             + (f":{f.column}" if f.column else "")]
    if f.redacted:
        lines.append(f"value: {f.redacted}")
    if f.commit:
        lines.append(f"commit: {f.commit}")
    if f.fix:
        lines.append(f"fix: {f.fix}")
    if f.advisory_id:
        lines.append(f"advisory: {f.advisory_id}" + (" (rotated: acknowledged in the baseline)" if rotated else ""))
    return "\n".join(lines)


def _xml(text: str) -> str:
    return _NOT_XML.sub(lambda m: f"\\x{ord(m.group()):02x}", text)
