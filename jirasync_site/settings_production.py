"""Production profile: the base settings, hardened. DJANGO_SETTINGS_MODULE=jirasync_site.settings_production

Behind a TLS-terminating proxy (deploy/nginx/jirasync.conf) that sets X-Forwarded-Proto. `manage.py
check --deploy` reports nothing with it (tested). ALLOWED_HOSTS has no default here: name the host.
"""

import os

from django.core.exceptions import ImproperlyConfigured

if not os.environ.get("ALLOWED_HOSTS", "").strip():
    raise ImproperlyConfigured("ALLOWED_HOSTS must name the host(s) jirasync is served as, e.g. jirasync.example.com")
if os.environ.get("DEBUG", "").strip().lower() in ("1", "true", "yes", "on"):
    raise ImproperlyConfigured("DEBUG must be off in production")

from jirasync_site.settings import *  # noqa: F403
from jirasync_site.settings import env

DEBUG = False
# The proxy terminates TLS and says so; trust only that header, only from it.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
# nginx on this machine (deploy/nginx): its X-Forwarded-For names the client for login throttling.
TRUSTED_PROXIES = env.list("TRUSTED_PROXIES", default=["127.0.0.1"])
# Load balancers probe over plain HTTP inside the network.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_SECURE = True
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_SECURE = True
X_FRAME_OPTIONS = "DENY"
