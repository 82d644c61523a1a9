"""The permissions Django knows, as "app_label.codename" strings."""

from django.contrib.auth.models import Permission


def every_permission() -> list[str]:
    """Every permission in the database, sorted."""
    return sorted(f"{p.content_type.app_label}.{p.codename}" for p in Permission.objects.select_related("content_type"))


def view_permissions() -> list[str]:
    """The view_ permissions among them."""
    return [name for name in every_permission() if name.split(".", 1)[1].startswith("view_")]
