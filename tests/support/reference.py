"""Where the recorded real Jira responses are: ../shared/jira-reference beside the checkout (data only)."""

import json
import os
from pathlib import Path

import pytest

_CANDIDATES = [
    os.environ.get("JIRA_REFERENCE_DIR", ""),
    str(Path(__file__).resolve().parents[3] / "shared" / "jira-reference"),
    "/work/shared/jira-reference",
]


def reference_dir() -> Path:
    for candidate in _CANDIDATES:
        if candidate and (Path(candidate) / "recorded").is_dir():
            return Path(candidate)
    pytest.skip("Jira reference material not found (set JIRA_REFERENCE_DIR to the jira-reference folder)")


def recorded(name: str):
    return json.loads((reference_dir() / "recorded" / name).read_text(encoding="utf-8"))
