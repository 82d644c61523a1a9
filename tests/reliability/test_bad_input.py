"""Bad input everywhere: fuzzed webhook bodies, hostile field values from Jira, fuzzed mapping files.
Clear errors, nothing partial written, nothing crashes."""

import copy
import hashlib
import hmac
import json
import os
from pathlib import Path

import pytest
import requests
from django.db import transaction
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from audit.models import AuditLog
from audit.services import COMMAND
from config.mapping_file import MappingFileError, document_to_text, parse_mapping_text
from config.selectors import mapping_document
from config.services import mappings_apply
from issues.models import Issue
from jirasim.testing import running_sim
from syncing.instance_settings import instance_save
from syncing.models import PendingRefresh, SyncRun, WebhookDelivery
from syncing.runs.runner import RunOptions, sync_instance
from tests.support.mappings import REFERENCE_MAPPINGS
from tests.support.sites import register

SECRET = "fuzz-webhook-secret-0123"
FUZZ = settings(
    max_examples=int(os.environ.get("JIRASYNC_FUZZ_EXAMPLES", "150")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=20,
)
webhook_bodies = st.one_of(
    st.binary(max_size=300),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.fixed_dictionaries(
        {"webhookEvent": st.sampled_from(["jira:issue_updated", "jira:issue_created", "jira:issue_deleted", "x"])},
        optional={"issue": json_values | st.fixed_dictionaries({"id": json_values}), "timestamp": json_values},
    ).map(lambda v: json.dumps(v).encode()),
)


@pytest.mark.django_db
@FUZZ
@given(body=webhook_bodies)
def test_fuzzed_webhook_bodies_get_a_clear_answer_and_never_a_crash(client, instance, body):
    if not instance.webhook_secret_encrypted:
        instance_save(instance=instance, actor=COMMAND, webhook_secret=SECRET)
    deliveries = WebhookDelivery.objects.count()
    signature = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    response = client.post(
        reverse("jira_webhook", args=[instance.slug]),
        body,
        content_type="application/json",
        HTTP_X_HUB_SIGNATURE=signature,
    )
    assert response.status_code in (202, 400, 409), (response.status_code, body)
    assert "error" in response.json() or response.status_code == 202
    accepted = response.status_code == 202 and response.json()["status"] != "ignored"
    assert WebhookDelivery.objects.count() == deliveries + (1 if accepted else 0)
    PendingRefresh.objects.all().delete()


def hostile_variants(issue: dict) -> list[dict]:
    """Copies of a real issue, each poisoned one way, with fresh ids and keys."""
    variants = []

    def variant(number: int, change) -> None:
        poisoned = copy.deepcopy(issue)
        poisoned["id"] = str(900_000 + number)
        poisoned["key"] = f"{issue['key'].rsplit('-', 1)[0]}-{9000 + number}"
        change(poisoned["fields"])
        variants.append(poisoned)

    deep: object = "bottom"
    for _ in range(150):
        deep = {"nested": deep}
    variant(1, lambda f: f.update(summary="x" * 2_000_000))
    variant(2, lambda f: f.update(customfield_10501=deep))
    variant(3, lambda f: f.update(customfield_10040="not a number", labels="not-a-list", priority=17))
    variant(4, lambda f: f.update(created="2025-13-45T99:00:00.000+0000", customfield_10030="yesterday"))
    variant(5, lambda f: f.update(summary="nul \u0000 in the middle", customfield_10501="\u0000\u0000"))
    variant(6, lambda f: f.update(status="Open", issuetype=["a", "list"]))
    variant(7, lambda f: f.update(customfield_10035={"value": {"child": [1, 2, {"x": None}]}}))
    return variants


@pytest.mark.django_db(transaction=True)
def test_hostile_field_values_cost_at_most_their_own_row_and_say_why(reference_mappings, settings):
    settings.JIRASYNC_BACKOFF_BASE = 0.01
    with running_sim(flavour="cloud", projects=1, issues=30, seed=61) as server:
        sample_key = server.sim.data.key_of(server.sim.data.live()[0])
        sample = requests.get(
            f"{server.url}/rest/api/2/issue/{sample_key}", auth=(server.sim.user, server.sim.token), timeout=60
        ).json()
        hostile = hostile_variants(sample)
        for issue in hostile:
            server.sim.data.add_replayed(issue)
        instance = register(server, "instance_1")
        run = sync_instance(instance.pk, RunOptions(full=True))
        assert run.status in (SyncRun.Status.SUCCEEDED, SyncRun.Status.PARTIAL), run.error
        stored = {issue.key: issue for issue in Issue.objects.filter(instance=instance)}
        normal = [server.sim.data.key_of(r) for r in server.sim.data.live() if r.raw is None]
        assert all(key in stored for key in normal), "a hostile issue must not cost its neighbours"
        explained = {e.object_repr: e.summary for e in AuditLog.objects.filter(action="sync_row_failed")}
        for poisoned in hostile:
            key = poisoned["key"]
            assert key in stored or key in explained, f"{key}: neither stored nor explained in the audit log"
            if key not in stored:
                assert key in run.error and "could not be stored" in explained[key]
        nul = stored.get(hostile[4]["key"])
        if nul is not None:
            assert "\x00" not in nul.summary
        wrong_types = stored.get(hostile[2]["key"])
        assert wrong_types is not None and wrong_types.has_field_errors
        assert any(error["field"] == "rooms" for error in wrong_types.field_errors)
        invalid_date = stored.get(hostile[3]["key"])
        if invalid_date is not None:
            assert any(error["field"] == "shoot_date" for error in invalid_date.field_errors)
        print(
            f"\nhostile issues: {sum(h['key'] in stored for h in hostile)} of {len(hostile)} stored; run {run.status}"
        )


def mutations(data: dict) -> st.SearchStrategy:
    """The reference mapping file with one part replaced by something arbitrary."""
    paths = []

    def walk(value, path):
        paths.append(path)
        if isinstance(value, dict):
            for key, item in value.items():
                walk(item, (*path, key))
        elif isinstance(value, list):
            for index, item in enumerate(value):
                walk(item, (*path, index))

    walk(data, ())

    def mutate(choice):
        path, replacement, delete = choice
        mutated = copy.deepcopy(data)
        if not path:
            return replacement
        parent = mutated
        for step in path[:-1]:
            parent = parent[step]
        if delete and isinstance(parent, dict):
            parent.pop(path[-1], None)
        else:
            parent[path[-1]] = replacement
        return mutated

    return st.tuples(st.sampled_from(paths), json_values, st.booleans()).map(mutate)


REFERENCE = json.loads(Path(REFERENCE_MAPPINGS).read_text())


@pytest.mark.django_db
@FUZZ
@given(data=mutations(REFERENCE))
def test_fuzzed_mapping_files_apply_whole_or_change_nothing(reference_mappings, data):
    before = document_to_text(mapping_document())
    text = json.dumps(data)
    try:
        document = parse_mapping_text(text)
    except MappingFileError as exc:
        assert exc.problems and all(problem.startswith("$") for problem in exc.problems), exc.problems
        assert document_to_text(mapping_document()) == before
        return
    with transaction.atomic():
        mappings_apply(document=document, actor=COMMAND)
        # Applied whole: what is stored now is exactly the file.
        assert document_to_text(mapping_document()) == document_to_text(document)
        transaction.set_rollback(True)
    assert document_to_text(mapping_document()) == before
