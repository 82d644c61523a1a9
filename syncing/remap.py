"""Re-mapping from the stored raw JSON: the current mappings and milestones applied without asking Jira."""

from dataclasses import dataclass

import orjson
from django.db import transaction

from audit.services import Actor, Change, audit_record
from config.selectors import field_specs_for_instance, mapping_document, mapping_version, milestone_rules_for_instance
from issues.models import Issue
from projects.models import JiraInstance
from syncing.bulk_sql import rows_update
from syncing.fields import compile_mapping, process_issue
from syncing.history import milestones_replace, stored_histories


@dataclass
class RemapResult:
    version: str
    checked: int = 0
    changed: int = 0
    seconds: float = 0.0


def issues_remap(
    *,
    actor: Actor,
    instance_slug: str | None = None,
    project_key: str | None = None,
    dry_run: bool = False,
    batch_size: int = 2000,
) -> RemapResult:
    """Re-apply the current mappings (and milestones) to every stored issue's raw JSON, in batches.

    Returns how many issues were checked and how many had their mapped values (or errors) change.
    """
    import time

    began = time.perf_counter()
    document = mapping_document()
    result = RemapResult(version=mapping_version(document))
    instances = JiraInstance.objects.all()
    if instance_slug:
        instances = instances.filter(slug=instance_slug)
    for instance in instances:
        mapping = compile_mapping(field_specs_for_instance(instance.slug, document), result.version)
        rules = milestone_rules_for_instance(instance.slug, document)
        issues = Issue.objects.filter(instance=instance)
        if project_key:
            issues = issues.filter(project__key=project_key)
        last_id = 0
        while True:
            batch = list(
                issues.filter(id__gt=last_id)
                .order_by("id")
                .values_list("id", "fields", "field_errors", "raw__body")[:batch_size]
            )
            if not batch:
                break
            last_id = batch[-1][0]
            changed = []
            for issue_id, fields, errors, body in batch:
                if body is None:
                    continue
                processed = process_issue(orjson.loads(bytes(body)), mapping)
                new_errors = [error.as_dict() for error in processed.errors]
                if processed.values != fields or new_errors != errors:
                    changed.append(
                        (
                            issue_id,
                            orjson.dumps(processed.values).decode(),
                            orjson.dumps(new_errors).decode(),
                            bool(new_errors),
                        )
                    )
            result.checked += len(batch)
            result.changed += len(changed)
            if dry_run:
                continue
            with transaction.atomic():
                rows_update(Issue, ["fields", "field_errors", "has_field_errors"], changed)
                milestones_replace(stored_histories([row[0] for row in batch]), rules)
    result.seconds = time.perf_counter() - began
    if not dry_run:
        scope = " ".join(filter(None, [instance_slug, project_key])) or "every instance"
        audit_record(
            actor=actor,
            change=Change(
                "remap",
                "issues.issue",
                "",
                scope,
                f"re-mapped {result.checked} stored issues of {scope} with mapping version {result.version}: "
                f"{result.changed} changed",
                {"mapping_version": [None, result.version]},
                instance_slug or "",
            ),
        )
    return result
