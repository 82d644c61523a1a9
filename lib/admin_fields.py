"""Admin form fields that give back exactly what they were given, so an unchanged save changes nothing."""

from django import forms
from django.core.validators import RegexValidator
from django.db import models


class EmptyListJSONField(forms.JSONField):
    """A JSON list field whose cleared box means [] (the model's default), not null."""

    def to_python(self, value):
        converted = super().to_python(value)
        return [] if converted is None else converted


class MultilineTextField(forms.CharField):
    """Text from a textarea, whose line breaks browsers send as CRLF: stored as they were, LF."""

    def to_python(self, value):
        return super().to_python(value).replace("\r\n", "\n")


class ExactValuesMixin:
    """Form fields that give back exactly what they were given, so an unchanged save changes nothing.

    Django's text fields strip whitespace (a separator " " came back ""), browsers send a textarea's
    line breaks as CRLF, and a cleared JSON field becomes null where the model holds a list: each would
    change a mapping the operator never touched.
    """

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        identifier = any(isinstance(v, RegexValidator) for v in db_field.validators)
        if isinstance(db_field, models.CharField | models.TextField) and not identifier:
            kwargs.setdefault("strip", False)
        if isinstance(db_field, models.TextField):
            kwargs.setdefault("form_class", MultilineTextField)
        if isinstance(db_field, models.JSONField) and not db_field.null:
            kwargs.setdefault("form_class", EmptyListJSONField)
        return super().formfield_for_dbfield(db_field, request, **kwargs)
