"""Item 2 of #12: every admin action and custom admin view needs a permission, and a user without it
cannot use it. Actions and views are enumerated from the admin site, so a new one that declares no
permission (or one this test does not know how to grant) fails here."""

import pytest
from django.contrib import admin
from django.contrib.admin import ActionLocation
from django.contrib.auth.models import Permission
from django.test import RequestFactory
from django.urls import URLPattern, URLResolver, reverse
from django.utils import timezone
from django_q.models import Failure, OrmQ, Schedule, Success

from audit.models import AuditLog
from jirasim.testing import request_counts
from projects.models import JiraInstance, Project
from syncing.models import SyncRun
from tests.support.permissions import every_permission, view_permissions
from tests.support.sites import register

pytestmark = pytest.mark.django_db(transaction=True)

# Django's own views: they check the model's add/change/delete/view permissions themselves.
MODEL_VIEWS = ("changelist", "add", "history", "delete", "change")
SITE_VIEWS = {
    "index",  # the dashboard's data has its own permissions: test_the_dashboard_needs_its_view_permissions
    "login",
    "logout",
    "password_change",
    "password_change_done",
    "autocomplete",
    "jsi18n",
    "view_on_site",
    "app_list",
}


def action_permission(name: str, opts) -> str:
    """The Django permission that grants an action's declared permission name (README: the permission model)."""
    known = {
        "add": f"{opts.app_label}.add_{opts.model_name}",
        "change": f"{opts.app_label}.change_{opts.model_name}",
        "delete": f"{opts.app_label}.delete_{opts.model_name}",
        "view": f"{opts.app_label}.view_{opts.model_name}",
        "sync": "projects.sync_jirainstance",
        "resubmit": f"django_q.change_{opts.model_name}",
        "cancel": "syncing.cancel_syncrun",
        "retry": "syncing.retry_syncrun",
    }
    assert name in known, f"the action permission {name!r} of {opts.label} is not in the permission model"
    return known[name]


def every_action(location: ActionLocation = ActionLocation.CHANGE_LIST) -> list:
    """(model, its admin, action name, declared permissions) of every action offered at location."""
    found = []
    for model, model_admin in admin.site._registry.items():
        for action in model_admin._get_base_actions(location):
            found.append((model, model_admin, action.name, tuple(getattr(action.func, "allowed_permissions", ()))))
    return found


def custom_views() -> list[tuple[str, URLPattern]]:
    """Every named admin URL that is not one of Django's model or site views."""
    found = []

    def walk(patterns):
        for entry in patterns:
            if isinstance(entry, URLResolver):
                walk(entry.url_patterns)
            elif entry.name and entry.name not in SITE_VIEWS and not entry.name.endswith(MODEL_VIEWS):
                found.append((entry.name, entry))

    walk(admin.site.get_urls())
    return found


def client_without(staff_with, missing: str):
    return staff_with(*[name for name in every_permission() if name != missing], name=f"no_{missing}")


@pytest.fixture
def furnished(cloud_site, reference_mappings):
    """A row in every table an action or view can act on (a run to cancel, one to retry)."""
    instance = register(cloud_site, "instance_1", enable_new_projects=False)
    project = Project.objects.create(instance=instance, jira_id="10000", key="ONE", name="One")
    for status in ("failed", "running"):
        SyncRun.objects.create(
            instance=instance, project=project, kind="incremental", trigger="schedule", status=status
        )
    now = timezone.now()
    for model, task_id in ((Failure, "f1"), (Success, "s1")):
        model.objects.create(
            id=task_id, name=task_id, func="syncing.tasks.heartbeat_task", started=now, stopped=now, args=(), kwargs={}
        )
    return instance


def state() -> dict:
    """What an action or view could change: compared before and after each unauthorised attempt."""
    return {
        "runs": list(SyncRun.objects.order_by("pk").values_list("status", "cancel_requested")),
        "queued": OrmQ.objects.count(),
        "enabled": list(Project.objects.values_list("enabled", flat=True)),
        "projects": Project.objects.count(),
        "instances": list(
            JiraInstance.objects.values("detected_flavour", "time_zone", "schedules_paused", "deleting_since")
        ),
        "schedules": list(Schedule.objects.order_by("pk").values_list("pk", "repeats", "next_run")),
        "failures": Failure.objects.count(),
        "audit": AuditLog.objects.count(),
    }


def test_every_action_declares_a_permission_that_is_not_view():
    actions = every_action()
    assert len(actions) >= 15
    assert {"pause_schedules", "resume_schedules"} <= {name for _, _, name, _ in actions}
    for model, _model_admin, name, permissions in actions:
        assert permissions, f"{model._meta.label}: the action {name!r} declares no permission"
        assert set(permissions) - {"view"}, f"{model._meta.label}: {name!r} runs for anyone who may look"
        for permission in permissions:
            action_permission(permission, model._meta)


@pytest.mark.parametrize(
    "action", [(m._meta.label, name) for m, _, name, _ in every_action()], ids=lambda a: f"{a[0]}.{a[1]}"
)
def test_no_action_is_offered_or_runs_without_its_permission(staff_with, furnished, cloud_site, action):
    label, name = action
    model = next(m for m in admin.site._registry if m._meta.label == label)
    model_admin = admin.site._registry[model]
    function = next(a.func for a in model_admin._get_base_actions() if a.name == name)
    changelist = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
    ids = list(model.objects.values_list("pk", flat=True)[:5])
    requests_before = sum(sum(codes.values()) for codes in request_counts(cloud_site).values())
    for missing in {action_permission(p, model._meta) for p in function.allowed_permissions}:
        client = client_without(staff_with, missing)
        user = client.session.get("_auth_user_id")
        request = RequestFactory().get(changelist)
        request.user = type(furnished)._meta.apps.get_model("auth", "User").objects.get(pk=user)
        assert name not in model_admin.get_actions(request), f"{name} offered without {missing}"
        before = state()
        # "post": an action that confirms first (delete) is tried at its last step too.
        response = client.post(
            changelist, {"action": name, "_selected_action": ids, "index": 0, "post": "yes"}, follow=True
        )
        assert response.status_code in (200, 403)
        assert state() == before, f"{label} {name} changed something without {missing}"
    requests_after = sum(sum(codes.values()) for codes in request_counts(cloud_site).values())
    assert requests_after == requests_before + 1  # only the stats request itself: Jira was never asked


@pytest.mark.parametrize(
    "action",
    [(m._meta.label, name) for m, _, name, _ in every_action(ActionLocation.CHANGE_FORM)],
    ids=lambda a: f"{a[0]}.{a[1]}",
)
def test_no_button_on_an_objects_page_runs_without_its_permission(staff_with, furnished, cloud_site, action):
    label, name = action
    model = next(m for m in admin.site._registry if m._meta.label == label)
    model_admin = admin.site._registry[model]
    function = next(a.func for a in model_admin._get_base_actions(ActionLocation.CHANGE_FORM) if a.name == name)
    requests_before = sum(sum(codes.values()) for codes in request_counts(cloud_site).values())
    for pk in model.objects.values_list("pk", flat=True)[:5]:
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_change", args=[pk])
        for missing in {action_permission(p, model._meta) for p in function.allowed_permissions}:
            client = client_without(staff_with, missing)
            assert f'value="{name}"' not in client.get(url).content.decode(), f"{name} offered without {missing}"
            before = state()
            response = client.post(url, {"CHANGE_FORM-action": name, "_selected_action": pk})
            assert response.status_code in (200, 302, 403)
            assert state() == before, f"{label} {name} changed something on its page without {missing}"
    requests_after = sum(sum(codes.values()) for codes in request_counts(cloud_site).values())
    assert requests_after == requests_before + 1  # only the stats request itself: Jira was never asked


def test_a_view_only_user_runs_no_action_and_no_custom_view(staff_with, furnished):
    viewer = staff_with(*view_permissions(), name="viewer")
    for model, _model_admin, name, _ in every_action():
        changelist = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        page = viewer.get(changelist)
        assert page.status_code == 200
        assert f'value="{name}"' not in page.content.decode(), f"{model._meta.label} offers {name} to a viewer"
        ids = list(model.objects.values_list("pk", flat=True)[:5])
        before = state()
        viewer.post(changelist, {"action": name, "_selected_action": ids, "index": 0, "post": "yes"})
        assert state() == before, f"a viewer ran {model._meta.label} {name}"
    for name, pattern in custom_views():
        if all(".view_" in permission for permission in pattern.callback.required_permissions):
            continue  # a reading view (export, the audit log's links): a viewer may
        url = reverse(f"admin:{name}", kwargs={k: furnished.pk for k in pattern.pattern.converters})
        assert viewer.get(url).status_code == 403, name
        before = state()
        assert viewer.post(url, {"instance": ""}).status_code == 403, name
        assert state() == before


def test_every_custom_view_declares_its_permissions_and_refuses_without_each(staff_with, furnished):
    views = custom_views()
    assert {name for name, _ in views} >= {
        "projects_jirainstance_fields",
        "config_fieldmapping_import",
        "config_fieldmapping_export",
        "config_fieldmapping_remap",
        "audit_auditlog_object",
        "syncing_syncrun_log",
        "syncing_syncrun_log_download",
    }
    entry = AuditLog.objects.filter(object_type="projects.jirainstance").first()
    run = SyncRun.objects.first()
    for name, pattern in views:
        required = getattr(pattern.callback, "required_permissions", None)
        assert required, f"the admin view {name} declares no permission (lib.admin_permissions)"
        pk = entry.pk if "auditlog" in name else run.pk if "syncrun" in name else furnished.pk
        url = reverse(f"admin:{name}", kwargs={k: pk for k in pattern.pattern.converters})
        for missing in required:
            assert client_without(staff_with, missing).get(url).status_code == 403, f"{name} without {missing}"
        allowed = staff_with(*required, name=f"only_{name}")
        assert allowed.get(url).status_code in (200, 302), name


def test_the_dashboard_needs_its_view_permissions(staff_with, furnished):
    for missing in ("projects.view_jirainstance", "syncing.view_syncrun"):
        page = client_without(staff_with, missing).get(reverse("admin:index")).content.decode()
        assert 'id="jirasync-dashboard"' not in page and furnished.name not in page
    page = staff_with("projects.view_jirainstance", "syncing.view_syncrun").get(reverse("admin:index"))
    assert 'id="jirasync-dashboard"' in page.content.decode()


def test_the_mapping_links_show_only_what_the_user_may_do(staff_with, furnished):
    page = staff_with("config.view_fieldmapping").get(reverse("admin:config_fieldmapping_changelist"))
    text = page.content.decode()
    assert "Import mapping file" not in text and "Re-map stored issues" not in text


def test_sync_permission_is_granted_on_its_own(staff_with, furnished, cloud_site, django_capture_on_commit_callbacks):
    operator = staff_with("projects.view_jirainstance", "projects.sync_jirainstance", "projects.view_project")
    changelist = reverse("admin:projects_jirainstance_changelist")
    page = operator.get(changelist).content.decode()
    assert 'value="sync_full"' in page and 'value="test_connection"' not in page
    with django_capture_on_commit_callbacks(execute=False):
        operator.post(changelist, {"action": "sync_incremental", "_selected_action": [furnished.pk]})
    assert SyncRun.objects.filter(trigger="admin").count() == 1
    assert Permission.objects.filter(codename="sync_jirainstance").exists()


def test_project_changes_are_audited_whichever_way_they_are_made(admin_client, furnished):
    project = Project.objects.get(key="ONE")
    changelist = reverse("admin:projects_project_changelist")
    admin_client.post(changelist, {"action": "enable", "_selected_action": [project.pk]})
    admin_client.post(changelist, {"action": "disable", "_selected_action": [project.pk]})
    admin_client.post(reverse("admin:projects_project_change", args=[project.pk]), {"enabled": "on"})  # the change form
    entries = list(
        AuditLog.objects.filter(object_type="projects.project", object_id=str(project.pk))
        .order_by("id")
        .values_list("actor", "action", "changes")
    )
    assert entries == [
        ("admin", "update", {"enabled": [False, True]}),
        ("admin", "update", {"enabled": [True, False]}),
        ("admin", "update", {"enabled": [False, True]}),
    ]
    assert all(e.instance_slug == "instance_1" for e in AuditLog.objects.filter(object_type="projects.project"))


def test_saving_a_project_does_not_write_back_what_a_sync_moved_meanwhile(admin_client, furnished):
    project = Project.objects.get(key="ONE")
    page = reverse("admin:projects_project_change", args=[project.pk])
    admin_client.get(page)
    moved = timezone.now()
    Project.objects.filter(pk=project.pk).update(sync_watermark=moved, claimed_by="host:1:abc")  # a sync, meanwhile
    admin_client.post(page, {"enabled": "on"})
    project.refresh_from_db()
    assert project.enabled and project.sync_watermark == moved and project.claimed_by == "host:1:abc"


def test_deleting_an_instance_needs_its_delete_permission_and_nothing_more(staff_with, furnished, cloud_site):
    page = reverse("admin:projects_jirainstance_delete", args=[furnished.pk])
    changelist = reverse("admin:projects_jirainstance_changelist")
    chosen = {"action": "delete_selected", "_selected_action": [furnished.pk], "post": "yes"}
    without = client_without(staff_with, "projects.delete_jirainstance")
    before = state()
    assert without.get(page).status_code == 403
    assert without.post(page, {"post": "yes"}).status_code == 403
    assert 'value="delete_selected"' not in without.get(changelist).content.decode()
    without.post(changelist, chosen)
    assert state() == before
    # The instance's delete permission is all it takes: its issues, runs and projects go with it by design.
    allowed = staff_with("projects.view_jirainstance", "projects.delete_jirainstance", name="deleter")
    confirm = allowed.get(page).content.decode()
    assert "Projects: 1" in confirm and "permission" not in confirm
    assert 'value="delete_selected"' in allowed.get(changelist).content.decode()
    assert allowed.post(page, {"post": "yes"}).status_code == 302
    furnished.refresh_from_db()
    assert furnished.being_deleted and furnished.deleting_by.startswith("deleter")
