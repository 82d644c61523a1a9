"""The field processor: Jira issue dicts in, typed values and errors out. Pure, no I/O.

A package of its own, below the apps: the mapping configuration (`config`) validates and previews with
it, the sync (`syncing`) stores what it yields. It imports no Django and no app (tests/test_import_rules.py).
"""

from jirafields.compiler import CompiledMapping, FieldSpec, compile_mapping
from jirafields.processor import FieldError, ProcessedFields, process_issue

__all__ = ["CompiledMapping", "FieldError", "FieldSpec", "ProcessedFields", "compile_mapping", "process_issue"]
