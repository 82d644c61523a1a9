"""The target type that suits a Jira field, read from its /rest/api/*/field schema."""

_BY_SCHEMA_TYPE = {
    "string": "string",
    "number": "decimal",
    "date": "date",
    "datetime": "datetime",
    "option": "option",
    "option-with-child": "option",
    "user": "user",
    "priority": "option",
    "status": "option",
    "resolution": "option",
    "issuetype": "option",
    "project": "option",
    "group": "option",
    "version": "option",
    "securitylevel": "option",
}
_RICH_TEXT = ("textarea",)


def suggested_field_type(schema: dict | None) -> str:
    """Return the FieldType value that converts this field's values, "json" when nothing fits better."""
    if not schema:
        return "json"
    kind = str(schema.get("type") or "")
    custom = schema.get("custom", "") or ""
    if kind == "string" and custom.endswith(_RICH_TEXT):
        return "text"
    if custom.endswith(":gh-sprint"):
        return "sprint_list"  # the sprints' names, from objects or Data Center's greenhopper strings
    if kind == "array":
        return (
            "string_list"
            if str(schema.get("items")) in {"string", "option", "user", "version", "component", "group", "json"}
            else "json"
        )
    return _BY_SCHEMA_TYPE.get(kind, "json")
