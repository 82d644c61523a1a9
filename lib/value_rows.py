"""Rows of `values()` queries whose keys are computed, as the type checker should see them."""

from collections.abc import Iterable
from typing import Any, cast

from django.db.models import QuerySet


def rows_of(values: QuerySet) -> Iterable[dict[str, Any]]:
    """The rows of a values() query annotated with computed names (`annotate(**{name: Sum(name) …})`).

    django-stubs types such rows by the literal names only; the names computed at run time are there too.
    """
    return cast("Iterable[dict[str, Any]]", values)
