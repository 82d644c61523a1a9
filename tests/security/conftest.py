import pytest
from django.contrib.auth.models import Permission
from django.test import Client

from tests.syncing.conftest import cloud_site, dc_site, quick_retries  # noqa: F401 - the same simulated sites


@pytest.fixture
def staff_with(django_user_model):
    """A logged-in staff client holding exactly the given permissions ("app.codename")."""
    made = []

    def make(*permissions: str, name: str | None = None) -> Client:
        user = django_user_model.objects.create_user(f"{name or 'staff'}{len(made)}", password="x", is_staff=True)
        for dotted in permissions:
            app_label, codename = dotted.split(".", 1)
            user.user_permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))
        client = Client()
        client.force_login(user)
        made.append(user)
        return client

    return make


def every_permission() -> list[str]:
    return sorted(f"{p.content_type.app_label}.{p.codename}" for p in Permission.objects.select_related("content_type"))


def view_permissions() -> list[str]:
    return [name for name in every_permission() if name.split(".", 1)[1].startswith("view_")]
