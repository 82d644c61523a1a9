"""Strict conversion of Jira values to the target types; a value that does not fit raises ConversionError."""

from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

from jirafields.adf import adf_to_text, is_adf
from jirafields.sprint import Sprint, SprintFormatError, is_sprint_string, parse_sprint, sprint_name
from jirafields.timestamps import datetime_from_epoch_ms, format_utc, parse_jira_date, parse_jira_datetime


class ConversionError(ValueError):
    """The value cannot be converted; the message says why."""


def describe(value: Any) -> str:
    kind = {dict: "an object", list: "a list", str: "text", bool: "a boolean", int: "a number", float: "a number"}
    shown = repr(value)
    return f"{kind.get(type(value), type(value).__name__)} {shown[:60] + '…' if len(shown) > 60 else shown}"


def user_identity(value: dict) -> dict | None:
    """Cloud users carry accountId; Data Center users key (immutable) and name."""
    identity = value.get("accountId") or value.get("key") or value.get("name")
    if identity is None and "displayName" not in value:
        return None
    return {"id": identity or "", "name": value.get("displayName") or value.get("name") or identity or ""}


def option_text(value: dict) -> str | None:
    """The text of a select option; a cascading select gives "parent / child"."""
    if "value" not in value:
        return None
    text = str(value["value"])
    child = value.get("child")
    if isinstance(child, dict) and "value" in child:
        text += f" / {child['value']}"
    return text


def string_text(value: str) -> str:
    """A string as Jira meant it: a greenhopper sprint string gives the sprint's name."""
    if not is_sprint_string(value):
        return value
    try:
        return sprint_name(value)
    except SprintFormatError as exc:
        raise ConversionError(str(exc)) from None


def scalar_text(value: Any) -> str:
    """Text of one Jira value: strings, numbers, ADF, options, users, named objects, sprint strings."""
    if isinstance(value, str):
        return string_text(value)
    if isinstance(value, bool):
        raise ConversionError(f"expected text, got {describe(value)}")
    if isinstance(value, (int, float)):
        return format(value, "g") if isinstance(value, float) and not value.is_integer() else str(int(value))
    if isinstance(value, dict):
        if is_adf(value):
            return adf_to_text(value)
        text = option_text(value)
        if text is not None:
            return text
        if "displayName" in value:
            return str(value["displayName"])
        if "name" in value:
            return str(value["name"])
    raise ConversionError(f"expected text, got {describe(value)}")


def to_string(value: Any) -> str:
    if isinstance(value, list):
        raise ConversionError(f"expected a single value, got {describe(value)}")
    return scalar_text(value)


def to_text(value: Any) -> str:
    if isinstance(value, list):
        return "\n".join(scalar_text(item) for item in value)
    return scalar_text(value)


def to_integer(value: Any) -> int:
    if isinstance(value, bool):
        raise ConversionError(f"expected an integer, got {describe(value)}")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            number = Decimal(value.strip())
        except InvalidOperation:
            number = None
        if number is not None and number.is_finite() and number == number.to_integral_value():
            return int(number)
    if isinstance(value, dict) and "value" in value:
        return to_integer(value["value"])
    raise ConversionError(f"expected an integer, got {describe(value)}")


def to_decimal(value: Any) -> int | float:
    if isinstance(value, bool):
        raise ConversionError(f"expected a number, got {describe(value)}")
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, str):
        try:
            number = Decimal(value.strip().replace(",", ""))
        except InvalidOperation:
            raise ConversionError(f"expected a number, got {describe(value)}") from None
        if number.is_finite():
            return int(number) if number == number.to_integral_value() else float(number)
    if isinstance(value, dict) and "value" in value:
        return to_decimal(value["value"])
    raise ConversionError(f"expected a number, got {describe(value)}")


_TRUE = {"true", "yes", "y", "1", "on"}
_FALSE = {"false", "no", "n", "0", "off"}


def to_boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)) and value in (0, 1):
        return bool(value)
    if isinstance(value, dict) and "value" in value:
        return to_boolean(value["value"])
    if isinstance(value, list) and len(value) == 1:
        # A single checked checkbox.
        return to_boolean(value[0])
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise ConversionError(f"expected a boolean, got {describe(value)}")


def to_date(value: Any) -> str:
    if isinstance(value, str):
        try:
            return parse_jira_date(value).isoformat()
        except ValueError:
            pass
    raise ConversionError(f"expected a date (YYYY-MM-DD), got {describe(value)}")


def to_datetime(value: Any) -> str:
    if isinstance(value, bool):
        raise ConversionError(f"expected a date-time, got {describe(value)}")
    if isinstance(value, (int, float)):
        return format_utc(datetime_from_epoch_ms(value))
    if isinstance(value, str):
        try:
            return format_utc(parse_jira_datetime(value))
        except ValueError as exc:
            raise ConversionError(f"expected a date-time with offset, got {describe(value)}: {exc}") from None
    raise ConversionError(f"expected a date-time, got {describe(value)}")


def to_option(value: Any) -> str:
    if isinstance(value, dict):
        text = option_text(value)
        if text is not None:
            return text
        if "name" in value:
            return str(value["name"])
    if isinstance(value, str):
        return string_text(value)
    raise ConversionError(f"expected a select option, got {describe(value)}")


def to_user(value: Any) -> dict:
    if isinstance(value, dict):
        identity = user_identity(value)
        if identity is not None:
            return identity
    if isinstance(value, str) and value:
        return {"id": value, "name": value}
    raise ConversionError(f"expected a user, got {describe(value)}")


def to_string_list(value: Any) -> list[str]:
    items = value if isinstance(value, list) else [value]
    return [scalar_text(item) for item in items if item is not None and item != ""]


def to_json(value: Any) -> Any:
    return value


def _sprints(value: Any) -> list[Sprint]:
    items = value if isinstance(value, list) else [value]
    try:
        return [parse_sprint(item) for item in items if item is not None and item != ""]
    except SprintFormatError as exc:
        raise ConversionError(str(exc)) from None


def to_sprint_list(value: Any) -> list[str]:
    """The names of every sprint the Sprint field holds (objects or greenhopper strings), in Jira's order."""
    return [sprint.name for sprint in _sprints(value)]


def to_sprint(value: Any) -> str | None:
    """The name of the issue's current sprint: the active one, else the first future one; None when every
    sprint it holds is closed (the issue is in no sprint now)."""
    sprints = _sprints(value)
    for state in ("active", "future"):
        for sprint in sprints:
            if (sprint.state or "").lower() == state:
                return sprint.name
    return None


def _named_list(what: str) -> Callable[[Any], list[str]]:
    def convert(value: Any) -> list[str]:
        items = value if isinstance(value, list) else [value]
        names = []
        for item in items:
            if not isinstance(item, dict) or not isinstance(item.get("name"), str):
                raise ConversionError(f"expected a {what} with a name, got {describe(item)}")
            names.append(item["name"])
        return names

    return convert


to_version_list = _named_list("version")
to_component_list = _named_list("component")


CONVERTERS: dict[str, Callable[[Any], Any]] = {
    "string": to_string,
    "text": to_text,
    "integer": to_integer,
    "decimal": to_decimal,
    "boolean": to_boolean,
    "date": to_date,
    "datetime": to_datetime,
    "option": to_option,
    "user": to_user,
    "string_list": to_string_list,
    "json": to_json,
    "sprint": to_sprint,
    "sprint_list": to_sprint_list,
    "version_list": to_version_list,
    "component_list": to_component_list,
}
