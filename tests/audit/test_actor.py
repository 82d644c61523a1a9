import pytest
from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import PermissionDenied

from audit.services import Actor


def test_an_actor_of_a_user_is_named_by_the_user_s_username():
    user = User(username="operator")
    actor = Actor.of_user(user)
    assert (actor.name, actor.user) == ("operator", user)


def test_an_anonymous_user_cannot_be_the_actor_of_a_change():
    with pytest.raises(PermissionDenied):
        Actor.of_user(AnonymousUser())
