"""Re-mapping from the stored raw JSON: the current mappings and milestones applied without asking Jira."""

import time
from collections.abc import Iterator
from dataclasses import dataclass

import orjson
from django.db import connection, transaction

from activity.services import activity_texts_refresh
from audit.services import Actor, Change, audit_record
from config.selectors import (
    field_specs_for_instance,
    mapping_document,
    mapping_version,
    milestone_ids,
    milestone_rules_for_instance,
    milestones_digest,
)
from issues.models import Issue
from jirafields import CompiledMapping, compile_mapping, process_issue
from jirafields.core import core_read
from lib.bulk_sql import rows_update
from projects.models import JiraInstance, Project
from syncing.engine.epic_link import epic_links_add
from syncing.engine.field_history import KeptFields, field_changes_prune
from syncing.engine.history import milestones_replace, stored_histories
from syncing.engine.memory import free_memory_release
from syncing.engine.prefetch import prefetched
from syncing.engine.prepare import relations_read
from syncing.engine.relations import IssueRelations, relations_differing, relations_replace

COUNTED = ("checked", "changed", "relations_changed", "milestones_recomputed", "field_changes_pruned", "activity_texts")


@dataclass
class RemapResult:
    version: str
    checked: int = 0
    changed: int = 0  # issues whose mapped values or field errors changed
    relations_changed: int = 0  # issues whose links, versions or components were rewritten (read anew differ)
    milestones_recomputed: int = 0
    field_changes_pruned: int = 0  # stored changelog items of fields the instance no longer keeps
    activity_texts: int = 0  # comment and worklog texts flattened again from their raw JSON
    seconds: float = 0.0

    def summary(self, verb: str = "changed") -> str:
        """What the re-map changed, every kind counted ("would change" for a dry run)."""
        return (
            f"{self.changed} {verb} (mapped values), {self.relations_changed} with their links, versions or "
            f"components {verb}, milestones recomputed for {self.milestones_recomputed}; "
            f"{self.field_changes_pruned} field changes of fields no longer kept deleted; "
            f"{self.activity_texts} comment and worklog texts {verb}"
        )

    def counts(self) -> dict[str, int | str]:
        """Every count, for a task's result."""
        return {name: getattr(self, name) for name in (*COUNTED, "version")}


def issues_remap(
    *,
    actor: Actor,
    instance_slug: str | None = None,
    project_key: str | None = None,
    dry_run: bool = False,
    batch_size: int = 2000,
) -> RemapResult:
    """Re-apply the current mappings (and milestones) to every stored issue's raw JSON, in batches.

    Milestones are recomputed from the stored status histories of the issues whose milestones were
    derived with other rules than the current ones (each issue keeps the digest of its rules).
    The field history keeps only the fields the instance keeps now: items of others are deleted (a dry run
    counts none). Returns how many issues were checked and how many had their mapped values (or errors) change.
    """
    began = time.perf_counter()
    document = mapping_document()
    result = RemapResult(version=mapping_version(document))
    ids = milestone_ids()
    instances = JiraInstance.objects.all()
    if instance_slug:
        instances = instances.filter(slug=instance_slug)
    for instance in instances:
        mapping = compile_mapping(field_specs_for_instance(instance.slug, document), result.version)
        rules = milestone_rules_for_instance(instance.slug, document)
        digest = milestones_digest(rules)
        project_id = None
        if project_key:
            project_id = Project.objects.filter(instance=instance, key=project_key).values_list("id", flat=True).first()
            if project_id is None:
                continue
        if not dry_run:
            kept = KeptFields.parse(instance.field_history)
            pruned = field_changes_prune(instance_id=instance.pk, kept=kept, project_id=project_id)
            result.field_changes_pruned += pruned
        # Reading and re-mapping the next batch (a thread of its own) overlaps writing this one.
        for batch, (changed, relations) in prefetched(_remapped_batches(instance, project_id, batch_size, mapping)):
            result.checked += len(batch)
            result.changed += len(changed)
            # Milestones only where they were derived with other rules than the current ones.
            stale = [row[0] for row in batch if row[4] != digest]
            if dry_run:
                result.relations_changed += len(relations_differing(relations))
                result.milestones_recomputed += len(stale)
                continue
            with transaction.atomic():
                rows_update(Issue, ["fields", "field_errors", "has_field_errors"], changed)
                # Links, versions and components read again from the raw JSON: rewritten where they differ.
                differing = relations_differing(relations)
                relations_replace(differing)
                result.relations_changed += len(differing)
                milestones_replace(stored_histories(stale), rules, ids)
                rows_update(Issue, ["milestones_digest"], [(issue_id, digest) for issue_id in stale])
            result.milestones_recomputed += len(stale)
            free_memory_release()
        result.activity_texts += activity_texts_refresh(instance_id=instance.pk, project_id=project_id, dry_run=dry_run)
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
                f"{result.summary()}",
                {"mapping_version": [None, result.version]},
                instance_slug or "",
            ),
        )
    return result


def _remapped_batches(
    instance: JiraInstance, project_id: int | None, size: int, mapping: CompiledMapping
) -> Iterator[tuple[list[tuple], tuple[list[tuple], dict[int, IssueRelations]]]]:
    """Yield (stored batch, (its changed rows, the relations of its issues)) until every issue was read."""
    last_id = 0
    try:
        while batch := _stored_batch(instance.pk, project_id, last_id, size):
            last_id = batch[-1][0]
            yield batch, _remapped(batch, mapping, instance)
    finally:
        connection.close()  # this runs in the prefetching thread, on that thread's own connection


def _stored_batch(instance_id: int, project_id: int | None, after_id: int, size: int) -> list[tuple]:
    """(id, fields JSON text, field errors JSON text, raw bytes, milestones digest) of the next issues, by id.

    Raw SQL: the JSON columns come back as text for orjson, not through Django's stdlib decoding.
    """
    text = "::text" if connection.vendor == "postgresql" else ""
    where = "i.instance_id = %s AND i.id > %s" + (" AND i.project_id = %s" if project_id else "")
    params = [instance_id, after_id, *([project_id] if project_id else []), size]
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT i.id, i.fields{text}, i.field_errors{text}, r.body, i.milestones_digest FROM issues_issue i "
            f"LEFT JOIN issues_issueraw r ON r.issue_id = i.id WHERE {where} ORDER BY i.id LIMIT %s",
            params,
        )
        return cursor.fetchall()


def _remapped(
    batch: list[tuple], mapping: CompiledMapping, instance: JiraInstance
) -> tuple[list[tuple], dict[int, IssueRelations]]:
    """(id, fields, errors, has errors) for every issue whose values or errors differ under mapping, and the
    relations of every issue of the batch (the sprint stays need the changelog, which the raw JSON lacks; Data
    Center's epics are resolved from what is stored)."""
    changed = []
    relations = {}
    owners = []  # for the Epic Link: (Jira id, key, fields, relations)
    for issue_id, fields_text, errors_text, body, _digest in batch:
        if body is None:
            continue
        issue = orjson.loads(bytes(body))
        processed = process_issue(issue, mapping)
        relations[issue_id], _, read_errors = relations_read(issue.get("fields") or {}, mapping)
        owners.append(
            (int(issue.get("id") or 0), str(issue.get("key") or ""), issue.get("fields"), relations[issue_id])
        )
        core_errors = core_read(issue, strict=False)[1]
        new_errors = [error.as_dict() for error in [*core_errors, *processed.errors, *read_errors]]
        if processed.values != orjson.loads(fields_text) or new_errors != orjson.loads(errors_text):
            changed.append(
                (issue_id, orjson.dumps(processed.values).decode(), orjson.dumps(new_errors).decode(), bool(new_errors))
            )
    if instance.epic_link_field:
        epic_links_add(instance, owners, instance.epic_link_field)
    return changed, relations
