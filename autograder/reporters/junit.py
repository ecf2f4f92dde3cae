"""JUnit XML for CI: one testsuite per submission, one testcase per test.

Failed, not-attempted and crashed tests are <failure>s (types "failed", "not_attempted",
"student_error"): the student's doing. Grader bugs are <error type="grader_error">.
Written answers and manual items are <skipped>. Characters XML 1.0 cannot hold (control
characters a student may print) are replaced, so the file always parses.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

from autograder.reporters.jsonfile import write_text_atomic
from autograder.results import Status, SubmissionResult, TestResult, cap_text

STDOUT_LIMIT = 20_000
_INVALID_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")

_FAILURE_TYPE = {
    Status.FAILED: "failed",
    Status.NOT_ATTEMPTED: "not_attempted",
    Status.ERROR: "student_error",
}


def clean(text: str) -> str:
    """``text`` with characters that XML 1.0 cannot represent replaced by U+FFFD."""
    return _INVALID_XML.sub("\ufffd", text)


def _testcase(result: SubmissionResult, test: TestResult) -> ET.Element:
    case = ET.Element(
        "testcase",
        {
            "classname": clean(f"{result.assignment}.{test.question}"),
            "name": clean(f"{test.number} {test.name}".strip()),
            "time": f"{test.duration:.3f}",
        },
    )
    first_line = clean(test.output.splitlines()[0] if test.output else test.status.value)
    if test.status in _FAILURE_TYPE:
        node = ET.SubElement(
            case, "failure", {"type": _FAILURE_TYPE[test.status], "message": first_line}
        )
        node.text = clean(test.output)
    elif test.status is Status.GRADER_ERROR:
        node = ET.SubElement(case, "error", {"type": "grader_error", "message": first_line})
        node.text = clean(test.output)
    elif test.status is Status.MANUAL:
        ET.SubElement(case, "skipped", {"message": "collected for manual grading"})
    props = ET.SubElement(case, "properties")
    for key, value in (
        ("score", test.score),
        ("max_score", test.max_score),
        ("visibility", test.visibility),
    ):
        ET.SubElement(props, "property", {"name": key, "value": clean(str(value))})
    return case


def to_junit(result: SubmissionResult) -> ET.Element:
    """The <testsuites> element for ``result``."""
    cases = [_testcase(result, t) for t in result.tests]
    for written in result.written:
        case = ET.Element(
            "testcase",
            {
                "classname": clean(f"{result.assignment}.{written.question}"),
                "name": clean(f"{written.question}: written answer"),
                "time": "0.000",
            },
        )
        message = "collected for manual grading" if written.answered else "nothing was written"
        ET.SubElement(case, "skipped", {"message": message})
        cases.append(case)
    statuses = [t.status for t in result.tests]
    failures = sum(s in _FAILURE_TYPE for s in statuses)
    errors = statuses.count(Status.GRADER_ERROR)
    skipped = statuses.count(Status.MANUAL) + len(result.written)
    counts = {
        "tests": str(len(cases)),
        "failures": str(failures),
        "errors": str(errors),
        "skipped": str(skipped),
        "time": f"{result.execution_time:.3f}",
    }
    root = ET.Element("testsuites", {"name": "mlhw", **counts})
    suite = ET.SubElement(
        root, "testsuite", {"name": clean(f"{result.assignment}: {result.submission}"), **counts}
    )
    props = ET.SubElement(suite, "properties")
    for key, value in (
        ("score", result.score),
        ("max_score", result.max_score),
        ("seed", result.seed),
        ("isolation", result.isolation),
        ("submission", result.submission),
    ):
        ET.SubElement(props, "property", {"name": key, "value": clean(str(value))})
    suite.extend(cases)
    out = "\n".join(
        list(result.messages) + ([cap_text(result.stdout, STDOUT_LIMIT)] if result.stdout else [])
    )
    if out:
        ET.SubElement(suite, "system-out").text = clean(out)
    return root


def junit_string(result: SubmissionResult) -> str:
    root = to_junit(result)
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=False)


def write_junit(result: SubmissionResult, path: str | Path) -> None:
    """Write the JUnit XML file for ``result``."""
    write_text_atomic(
        path, '<?xml version="1.0" encoding="utf-8"?>\n' + junit_string(result) + "\n"
    )
