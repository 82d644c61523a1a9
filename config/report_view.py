"""The reporting view `jirasync_issue_report`: one row per live issue, for SQL and BI tools.

Core columns, one typed column per field mapping (named by its target name), and per milestone the
first time it was reached (`<milestone>_at`) and the total seconds spent in its statuses
(`<milestone>_seconds`); from the field history, `assignee_at_resolution`. Rebuilt from the configuration;
dropped before migrations, rebuilt after.
"""

from django.db import connection

from config.mapping_file import MappingDocument
from config.models import ANY_INSTANCE, StatusMilestone
from config.selectors import mapping_document
from projects.field_history_setting import SEPARATOR

VIEW = "jirasync_issue_report"
CORE = [
    "id",
    "instance",
    "project",
    "jira_id",
    "key",
    "summary",
    "issue_type",
    "status",
    "status_category",
    "priority",
    "assignee",
    "reporter",
    "created",
    "updated",
    "resolved",
    "resolution",
    "assignee_at_resolution",
    "has_field_errors",
    "synced_at",
]


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _field_expression(vendor: str, name: str, field_type: str) -> str:
    if vendor == "postgresql":
        text = f"(i.fields ->> {_literal(name)})"
        return {
            "integer": f"{text}::bigint",
            "decimal": f"{text}::numeric",
            "boolean": f"{text}::boolean",
            "date": f"{text}::date",
            "datetime": f"{text}::timestamptz",
            "user": f"(i.fields -> {_literal(name)} ->> 'name')",
            "string_list": f"(i.fields -> {_literal(name)})",
            "sprint_list": f"(i.fields -> {_literal(name)})",
            "version_list": f"(i.fields -> {_literal(name)})",
            "component_list": f"(i.fields -> {_literal(name)})",
            "json": f"(i.fields -> {_literal(name)})",
        }.get(field_type, text)
    path = f"'$.\"{name}\"'"
    value = f"json_extract(i.fields, {path})"
    return {
        "integer": f"CAST({value} AS INTEGER)",
        "decimal": f"CAST({value} AS REAL)",
        "user": f"json_extract(i.fields, '$.\"{name}\".name')",
        "string_list": f"json(json_extract(i.fields, {path}))",
        "sprint_list": f"json(json_extract(i.fields, {path}))",
        "version_list": f"json(json_extract(i.fields, {path}))",
        "component_list": f"json(json_extract(i.fields, {path}))",
        "json": f"json(json_extract(i.fields, {path}))",
    }.get(field_type, value)


def _statuses_condition(statuses: tuple) -> str:
    """SQL true when a time-in-status row `t` of issue `i` (instance slug `inst.slug`) is in the milestone."""
    explicit = [slug for slug, _, _ in statuses if slug != ANY_INSTANCE]
    parts = []
    for slug, names, ids in statuses:
        matches = []
        if names:
            matches.append(f"lower(t.status) IN ({', '.join(_literal(n.casefold()) for n in names)})")
        if ids:
            matches.append(f"t.status_id IN ({', '.join(_literal(i) for i in ids)})")
        if not matches:
            continue
        if slug == ANY_INSTANCE:
            scope = f"inst.slug NOT IN ({', '.join(_literal(s) for s in explicit)})" if explicit else "1 = 1"
        else:
            scope = f"inst.slug = {_literal(slug)}"
        parts.append(f"({scope} AND ({' OR '.join(matches)}))")
    return " OR ".join(parts) or "1 = 0"


def system_field_condition(field_id: str) -> str:
    """SQL true when a field change `f` is of this system field: by Cloud's fieldId, or on Data Center (no
    fieldId) by its name among the system fields (a custom field of the same name is not it)."""
    return (
        f"(f.field_id = {_literal(field_id)} OR (f.field_id = '' AND f.field_type = 'jira' "
        f"AND lower(f.field_name) = {_literal(field_id.casefold())}))"
    )


def value_at_sql(field_condition: str, moment: str, current: str) -> str:
    """SQL for the display value (`toString`) a field of issue `i` had at moment: its last change at or before
    it; before its first change, that change's `fromString`; no change stored, `current` (an expression that
    is NULL when the history cannot say the field never changed)."""
    changes = f"FROM issues_fieldchange f WHERE f.issue_id = i.id AND {field_condition}"
    before = f"{changes} AND f.changed_at <= {moment}"
    after = f"{changes} AND f.changed_at > {moment}"
    return (
        f"CASE WHEN EXISTS (SELECT 1 {before}) THEN (SELECT f.to_string {before} "
        "ORDER BY f.changed_at DESC, f.history_id DESC, f.position DESC LIMIT 1) "
        f"WHEN EXISTS (SELECT 1 {after}) THEN (SELECT f.from_string {after} "
        f"ORDER BY f.changed_at, f.history_id, f.position LIMIT 1) ELSE {current} END"
    )


def _ascii_lower(expression: str, vendor: str) -> str:
    # SQLite's lower() folds ASCII letters only; PostgreSQL's folds by locale, so spell out the ASCII ones.
    if vendor == "postgresql":
        return f"translate({expression}, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz')"
    return f"lower({expression})"


def kept_now_sql(field_id: str, vendor: str) -> str:
    """SQL true when instance `inst` keeps the history of this field (an ASCII field id) now.

    JiraInstance.field_history is stored normalised (projects/field_history_setting.py): `*`, empty, or names
    joined by ", ", none of them non-ASCII yet ASCII once case-folded — so ASCII lower-casing here agrees with
    KeptFields' casefold() in Python (tests/projects/test_field_history_setting.py holds them to it).
    """
    if not field_id.isascii() or "," in field_id:
        raise ValueError(f"an ASCII field id without commas, not {field_id!r}")
    listed = f"',' || replace({_ascii_lower('inst.field_history', vendor)}, {_literal(SEPARATOR)}, ',') || ','"
    return f"({listed} LIKE '%,*,%' OR {listed} LIKE {_literal('%,' + field_id.lower() + ',%')})"


def assignee_at_resolution_sql(vendor: str) -> str:
    """SQL for who held issue `i` when it was resolved. No assignee change stored says "never changed" only
    when the assignee is kept and the issue's changelog was read whole with it kept (widening field_history
    flags the changelogs incomplete until read again); else who held it is not known: NULL, never the current
    assignee passed off as history."""
    return value_at_sql(
        system_field_condition("assignee"),
        "i.resolved",
        f"CASE WHEN i.changelog_complete AND {kept_now_sql('assignee', vendor)} THEN i.assignee END",
    )


def report_view_sql(document: MappingDocument, vendor: str) -> str:
    """The CREATE VIEW statement for this configuration on this database."""
    columns = [
        "i.id AS id",
        "inst.slug AS instance",
        "p.key AS project",
        "i.jira_id AS jira_id",
        f"i.{_q('key')} AS {_q('key')}",
        "i.summary AS summary",
        "i.issue_type AS issue_type",
        "i.status AS status",
        "i.status_category AS status_category",
        "i.priority AS priority",
        "i.assignee AS assignee",
        "i.reporter AS reporter",
        "i.created AS created",
        "i.updated AS updated",
        "i.resolved AS resolved",
        "i.resolution AS resolution",
        # Who held the issue when it was resolved: from the field history; NULL when it cannot say.
        f"CASE WHEN i.resolved IS NOT NULL THEN ({assignee_at_resolution_sql(vendor)}) END AS assignee_at_resolution",
        "i.has_field_errors AS has_field_errors",
        "i.synced_at AS synced_at",
    ]
    taken = set(CORE)
    for field in document.fields:
        column = field.name if field.name not in taken else f"{field.name}_field"
        taken.add(column)
        columns.append(f"{_field_expression(vendor, field.name, field.field_type)} AS {_q(column)}")
    milestone_ids = dict(StatusMilestone.objects.values_list("name", "id"))
    for milestone in document.milestones:
        if milestone.name not in milestone_ids:
            continue
        columns.append(
            f"(SELECT m.first_reached FROM issues_issuemilestone m WHERE m.issue_id = i.id AND "
            f"m.milestone_id = {milestone_ids[milestone.name]}) AS {_q(milestone.name + '_at')}"
        )
        columns.append(
            f"(SELECT SUM(t.seconds) FROM issues_timeinstatus t WHERE t.issue_id = i.id AND "
            f"({_statuses_condition(milestone.statuses)})) AS {_q(milestone.name + '_seconds')}"
        )
    return (
        f"CREATE VIEW {_q(VIEW)} AS SELECT {', '.join(columns)} FROM issues_issue i "
        "JOIN projects_jirainstance inst ON inst.id = i.instance_id JOIN projects_project p ON p.id = i.project_id "
        "WHERE i.deleted_at IS NULL"
    )


def report_view_drop() -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"DROP VIEW IF EXISTS {_q(VIEW)}")


def report_view_build(document: MappingDocument | None = None) -> list[str]:
    """Drop and recreate the view; return its column names."""
    sql = report_view_sql(document or mapping_document(), connection.vendor)
    report_view_drop()
    with connection.cursor() as cursor:
        cursor.execute(sql)
        cursor.execute(f"SELECT * FROM {_q(VIEW)} WHERE 1 = 0")
        return [column[0] for column in cursor.description]
