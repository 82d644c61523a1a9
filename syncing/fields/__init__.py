"""The field processor: Jira issue dicts in, typed values and errors out. Pure, no I/O."""

from syncing.fields.compiler import CompiledMapping, FieldSpec, compile_mapping
from syncing.fields.processor import FieldError, ProcessedFields, process_issue

__all__ = ["CompiledMapping", "FieldError", "FieldSpec", "ProcessedFields", "compile_mapping", "process_issue"]
