"""What a model's columns hold, read from the model so that checks and the database never disagree."""

from django.core.exceptions import FieldDoesNotExist
from django.db.models import Model


def max_length(model: type[Model], name: str) -> int:
    """The max_length of model's field `name`, in characters.

    Raises FieldDoesNotExist when the model has no such concrete field or it has no max_length (a
    programming error: the callers name text columns).
    """
    field = model._meta.get_field(name)
    limit = getattr(field, "max_length", None)
    if not isinstance(limit, int):
        raise FieldDoesNotExist(f"{model.__name__}.{name} has no max_length")
    return limit


def verbose_name(model: type[Model], name: str) -> str:
    """The verbose name of model's field `name` as text (raises FieldDoesNotExist for a relation's reverse side)."""
    field = model._meta.get_field(name)
    label = getattr(field, "verbose_name", None)
    if label is None:
        raise FieldDoesNotExist(f"{model.__name__}.{name} has no verbose name")
    return str(label)
