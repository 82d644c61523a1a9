"""Prometheus families of comments and worklogs, read from the database at scrape time (syncing.monitoring.metrics)."""

from collections.abc import Iterator
from typing import Any

from django.db.models import Count
from prometheus_client.core import GaugeMetricFamily

from activity.models import Comment, Worklog
from projects.models import JiraInstance


def activity_families() -> Iterator[GaugeMetricFamily]:
    """jirasync_comments / _worklogs (live) and …_deleted (soft-deleted: gone from Jira), per instance.

    Live is every row minus the deleted: the unique (instance, jira_id) index and the partial index on the
    deleted rows answer both counts without reading the rows of a big table.
    """
    slugs = dict(JiraInstance.objects.values_list("pk", "slug"))
    for model, noun in ((Comment, "comments"), (Worklog, "worklogs")):
        live = GaugeMetricFamily(f"jirasync_{noun}", f"Live {noun} stored.", labels=["jira_instance"])
        deleted = GaugeMetricFamily(
            f"jirasync_{noun}_deleted",
            f"{noun.capitalize()} deleted in Jira (kept, soft-deleted).",
            labels=["jira_instance"],
        )
        every = _per_instance(model, deleted=None)
        gone = _per_instance(model, deleted=True)
        for instance_id, slug in sorted(slugs.items()):  # zero included: a series that vanishes cannot alert
            live.add_metric([slug], every.get(instance_id, 0) - gone.get(instance_id, 0))
            deleted.add_metric([slug], gone.get(instance_id, 0))
        yield live
        yield deleted


def _per_instance(model: Any, *, deleted: bool | None) -> dict[int, int]:
    rows = model.objects.all() if deleted is None else model.objects.filter(deleted_at__isnull=False)
    return dict(rows.values("instance_id").annotate(n=Count("*")).values_list("instance_id", "n"))
