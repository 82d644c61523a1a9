"""Custom admin views declare the permissions they need; without them the answer is 403.

The declaration is kept on the view (`required_permissions`), so a test can walk every admin URL
and fail on a view that declares none.
"""

from collections.abc import Callable
from functools import wraps

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse


def permission_required_view(*permissions: str) -> Callable:
    """Wrap an admin view (a bound method or a function taking the request first) to require every permission."""

    def decorate(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def checked(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            if not request.user.has_perms(permissions):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        checked.required_permissions = permissions  # type: ignore[attr-defined]  # read by the permission tests
        return checked

    return decorate


def user_has_perms(request: HttpRequest, *permissions: str) -> bool:
    return request.user.is_active and request.user.has_perms(permissions)
