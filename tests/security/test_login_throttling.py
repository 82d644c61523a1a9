"""Item 13 of #12: guessing passwords at the admin login is throttled (django-axes), without locking
out everyone, and an admin can unlock a user."""

import io

import pytest
from axes.models import AccessAttempt
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

pytestmark = pytest.mark.django_db

LOGIN = "/admin/login/?next=/admin/"
PASSWORD = "the-right-password-1"


@pytest.fixture
def operator(django_user_model):
    return django_user_model.objects.create_superuser("operator", "op@example.com", PASSWORD)


def log_in(client: Client, password: str, address: str = "203.0.113.7", **headers):
    return client.post(LOGIN, {"username": "operator", "password": password}, REMOTE_ADDR=address, **headers)


@pytest.fixture
def hashing(monkeypatch) -> list[str]:
    """Every password check the login makes (the costly part a guessing client makes the server do)."""
    checked = []
    original = User.check_password

    def counted(user, raw):
        checked.append(raw)
        return original(user, raw)

    monkeypatch.setattr(User, "check_password", counted)
    return checked


def test_a_hundred_wrong_passwords_lock_the_user_out_even_with_the_right_one_next(operator, settings, hashing):
    client = Client()
    limit = settings.AXES_FAILURE_LIMIT
    answers = [log_in(client, f"guess-{n}").status_code for n in range(100)]
    assert answers[: limit - 1] == [200] * (limit - 1)  # the form again, then locked at the limit
    assert set(answers[limit - 1 :]) == {429}
    right = log_in(client, PASSWORD)
    assert right.status_code == 429 and "_auth_user_id" not in client.session
    said = right.content.decode()
    assert "locked for 15 minutes" in said and "axes_reset_username" in said  # how long, and how to lift it
    assert len(hashing) == limit  # the 95 locked attempts and the right password cost no password hashing


def test_the_lockout_does_not_lock_out_everyone(operator, settings):
    for n in range(settings.AXES_FAILURE_LIMIT + 3):
        log_in(Client(), f"guess-{n}", address="198.51.100.66")
    elsewhere = Client()
    assert log_in(elsewhere, PASSWORD, address="203.0.113.7").status_code == 302  # the operator's own address
    assert elsewhere.get(reverse("admin:index")).status_code == 200


def test_behind_the_proxy_each_client_is_told_apart_and_a_forged_header_does_not_help(operator, settings):
    settings.TRUSTED_PROXIES = ["127.0.0.1"]
    via_proxy = {"address": "127.0.0.1"}
    for n in range(settings.AXES_FAILURE_LIMIT + 1):  # the attacker, forging its own X-Forwarded-For
        forged = f"10.9.9.{n}, 198.51.100.66"  # nginx appended the real address last
        log_in(Client(), f"guess-{n}", HTTP_X_FORWARDED_FOR=forged, **via_proxy)
    attacker = log_in(Client(), PASSWORD, HTTP_X_FORWARDED_FOR="1.2.3.4, 198.51.100.66", **via_proxy)
    assert attacker.status_code == 429
    operator_login = log_in(Client(), PASSWORD, HTTP_X_FORWARDED_FOR="203.0.113.7", **via_proxy)
    assert operator_login.status_code == 302


def test_an_admin_unlocks_a_user_by_command_or_in_admin(operator, admin_client, settings):
    for n in range(settings.AXES_FAILURE_LIMIT):
        log_in(Client(), f"guess-{n}")
    assert log_in(Client(), PASSWORD).status_code == 429
    call_command("axes_reset_username", "operator", stdout=io.StringIO())
    assert log_in(Client(), PASSWORD).status_code == 302
    for n in range(settings.AXES_FAILURE_LIMIT):
        log_in(Client(), f"guess-{n}")
    assert log_in(Client(), PASSWORD).status_code == 429
    attempt = AccessAttempt.objects.get(username="operator")
    changelist = reverse("admin:axes_accessattempt_changelist")
    admin_client.post(changelist, {"action": "delete_selected", "_selected_action": [attempt.pk], "post": "yes"})
    assert not AccessAttempt.objects.exists()
    assert log_in(Client(), PASSWORD).status_code == 302
