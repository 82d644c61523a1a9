"""What is fixed for one project's run: its query, the fields it asks for, the compiled mapping, the milestone
rules (their digest and the milestone rows they point at), the field history kept, the activity synced and how
the site gives worklogs — read once, when the run starts, and carried by every page (pipeline.page_sync)."""

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING

from django.conf import settings

from activity.fetch import ActivityKinds
from config.selectors import (
    MilestoneRule,
    field_specs_for_instance,
    mapping_document,
    mapping_version,
    milestone_ids,
    milestone_rules_for_instance,
    milestones_digest,
)
from jirafields import CompiledMapping, compile_mapping
from jirafields.core import CORE_FIELD_IDS
from projects.jql_filter import jql_filter_check
from projects.models import Project
from syncing.engine.field_history import KeptFields
from syncing.engine.relations import RELATION_FIELD_IDS
from syncing.jira.client import CLOUD, JiraClient

if TYPE_CHECKING:
    from syncing.runs.bookkeeping import RunOptions


@dataclass
class ProjectSyncPlan:
    project: Project
    mapping: CompiledMapping
    rules: list[MilestoneRule]
    milestone_ids: dict[str, int]  # {milestone name: StatusMilestone id} the derived rows point at
    full: bool
    overlap: timedelta
    jql_filter: str = ""
    page_size: int = 100
    dry_run: bool = False
    milestones_digest: str = ""  # of `rules`, fixed for the run
    retry_ids: set[int] = field(default_factory=set)  # the project's rows that failed before: cleared when stored
    kept: KeptFields = field(default_factory=lambda: KeptFields.parse("*"))  # whose field history is stored
    activity: ActivityKinds = field(default_factory=ActivityKinds)  # comments and worklogs synced with the issues
    # Cloud: short inline worklog lists are completed by the instance's worklog feed after the pages
    # (activity.worklog_feed); Data Center has none: they are read from each issue's endpoint.
    worklog_feed: bool = False
    epic_link_field: str = ""  # Data Center's Epic Link field id (syncing.engine.epic_link); "": none

    def __post_init__(self) -> None:
        self.milestones_digest = self.milestones_digest or milestones_digest(self.rules)

    def jql(self) -> str:
        """The project's issues (changed since the watermark, less the overlap, for an incremental run).

        No upper bound: issues changed while the run reads come round again at the end of the seek, so the
        run reads every issue that matched when it began, as it is when read.
        """
        clauses = [f"project = {self.project.jira_id}"]
        if not self.full and self.project.sync_watermark:
            since = self.project.sync_watermark - self.overlap
            # Unquoted epoch milliseconds: immune to the account's time zone and to minute rounding.
            clauses.append(f"updated >= {int(since.timestamp() * 1000)}")
        if self.jql_filter:
            clauses.append(f"({self.jql_filter})")
        return " AND ".join(clauses)

    def fields(self) -> list[str]:
        epic = [self.epic_link_field] if self.epic_link_field else []
        return sorted({*requested_fields(self.mapping), *self.activity.fields(), *epic})


def project_plan(project: Project, options: "RunOptions", *, flavour: str = "") -> ProjectSyncPlan:
    """How to sync one project now: the instance's current mappings and milestone rules compiled, and the
    milestones they point at read, once for the run. flavour: the site's, as the run learnt it ("": what the
    instance last detected, or is set to)."""
    instance = project.instance
    document = mapping_document()
    return ProjectSyncPlan(
        project=project,
        mapping=compile_mapping(field_specs_for_instance(instance.slug, document), mapping_version(document)),
        rules=milestone_rules_for_instance(instance.slug, document),
        milestone_ids=milestone_ids(),
        full=options.full,
        overlap=timedelta(minutes=settings.JIRASYNC_SYNC_OVERLAP_MINUTES),
        jql_filter=jql_filter_check(instance.jql_filter),  # refused, whatever saved it, if it can escape
        page_size=settings.JIRASYNC_PAGE_SIZE,
        dry_run=options.dry_run,
        kept=KeptFields.parse(instance.field_history),
        activity=ActivityKinds(comments=instance.sync_comments, worklogs=instance.sync_worklogs),
        worklog_feed=(flavour or instance.effective_flavour) == CLOUD,
        epic_link_field=instance.epic_link_field or "",
    )


def requested_fields(mapping: CompiledMapping) -> list[str]:
    """The Jira fields to ask for: only what the core columns, the relations and the mappings read, never *all."""
    return sorted(set(CORE_FIELD_IDS) | set(RELATION_FIELD_IDS) | set(mapping.jira_field_ids))


def project_pages(
    client: JiraClient, plan: ProjectSyncPlan, *, counted: Callable[[int], None] | None = None
) -> Iterator[list[dict]]:
    """The project's pages; counted, when given, is called once with what Jira counts for the query."""
    return client.search_pages(plan.jql(), plan.fields(), changelog=True, page_size=plan.page_size, counted=counted)
