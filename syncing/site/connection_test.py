"""The connection test: what `check_jira`, the admin's Test connection and an instance's save report about
an instance — whether its credentials authenticate, its flavour and version, the projects it sees, whether
the mapped fields exist there. (The system checks, `jirasync.E…`, are config/checks.py.)"""

from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator

from jirafields import FieldSpec
from lib.log_redaction import redact
from projects.models import JiraInstance
from syncing.jira.errors import JiraError
from syncing.site.clients import client_for


def said_of(instance: JiraInstance, text: str) -> str:
    """text about an instance, naming it once: Jira errors already begin with the instance's name, and a
    run's error may quote one ("project discovery failed: <name>: GET …")."""
    return f"{instance.name}: {without_name(instance, text)}"


def without_name(instance: JiraInstance, text: str) -> str:
    """text without the instance's name where a Jira error put it ("<name>: "), for a place that names it."""
    return text.replace(f"{instance.name}: ", "")


@dataclass
class InstanceReport:
    ok: bool = False
    problem: str = ""
    flavour: str = ""
    version: str = ""
    time_zone: str = ""
    projects: list[str] = field(default_factory=list)
    fields_present: list[str] = field(default_factory=list)
    fields_missing: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        if not self.ok and not self.flavour:
            return [f"✗ {self.problem}"]
        lines = [
            f"✓ authenticated; {self.flavour} {self.version}, account time zone {self.time_zone}",
            f"✓ {len(self.projects)} projects visible: {', '.join(self.projects[:20])}"
            + (" …" if len(self.projects) > 20 else ""),
            f"✓ mapped fields present: {', '.join(self.fields_present) or 'none'}",
        ]
        if self.fields_missing:
            lines.append(f"✗ mapped fields missing on this instance: {', '.join(self.fields_missing)}")
        if self.problem:
            lines.append(f"✗ {self.problem}")
        return lines


def instance_check(instance: JiraInstance, specs: list[FieldSpec]) -> InstanceReport:
    report = InstanceReport()
    try:
        client = client_for(instance, interactive=True)
    except JiraError as exc:
        report.problem = without_name(instance, redact(str(exc)))
        return report
    site = None
    try:
        site = client.site_info()
        report.flavour, report.version, report.time_zone = site.flavour, site.version, site.time_zone
        report.projects = sorted(project["key"] for project in client.projects())
        available = {item["id"] for item in client.fields()}
    except JiraError as exc:
        # Jira (or a proxy) may echo the credentials it was sent; the callers name the instance.
        report.problem = without_name(instance, redact(str(exc)))
    finally:
        client.close()
    # Written after the requests, so a busy database never holds one up; an instance not saved yet learns
    # it when it is (instance_check_unsaved).
    if site is not None and instance.pk:
        JiraInstance.objects.filter(pk=instance.pk).update(detected_flavour=site.flavour, time_zone=site.time_zone)
    if report.problem:
        return report
    referenced = sorted({path.split(".")[0] for spec in specs for path in spec.paths})
    report.fields_present = [f for f in referenced if f in available]
    report.fields_missing = [f for f in referenced if f not in available]
    report.ok = True
    if not report.projects:
        report.problem = "the account sees no projects (permissions?)"
        report.ok = False
    return report


def instance_check_unsaved(instance: JiraInstance, specs: list[FieldSpec]) -> InstanceReport | None:
    """The connection test of an instance as it was entered, before it is saved (admin's form, add_jira_instance).

    None when there is nothing to test: no token entered, or a URL or user name the save refuses anyway
    (the token never goes to a URL the instance would not keep). On success the instance carries the
    flavour and time zone Jira reported, for the save to keep. Call it outside any transaction.
    """
    if not instance.has_token:
        return None
    try:
        URLValidator(schemes=["http", "https"])(instance.base_url)
        instance.clean()
    except ValidationError:
        return None
    if instance.auth_kind == JiraInstance.AuthKind.BASIC and not instance.username:
        return None
    report = instance_check(instance, specs)
    if report.ok:
        instance.detected_flavour, instance.time_zone = report.flavour, report.time_zone
    return report
