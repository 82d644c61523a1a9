"""The client's address as login throttling sees it: behind our own proxy, the address the proxy saw.

nginx appends the address it received the request from to X-Forwarded-For; only that last entry is
trusted, and only when the request comes from a proxy named in TRUSTED_PROXIES (what a client writes
into the header itself comes before it and is ignored). Without this, every client would share the
proxy's address and one attacker's failures would lock everyone out.
"""

from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str:
    remote = request.META.get("REMOTE_ADDR", "")
    if remote in settings.TRUSTED_PROXIES:
        forwarded = [entry.strip() for entry in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        if forwarded[-1]:
            return forwarded[-1]
    return remote
