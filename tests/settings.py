"""Test settings: the real settings, with test-only secrets so a fresh clone runs without a .env."""

import os

os.environ.setdefault("SECRET_KEY", "tests-only-secret-key")
os.environ.setdefault("JIRASYNC_ENCRYPTION_KEYS", "dGVzdHMtb25seS1rZXktdGVzdHMtb25seS1rZXktMTI=")

from jirasync_site.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

if DATABASES["default"]["ENGINE"] == "django_prometheus.db.backends.postgresql":  # noqa: F405
    DATABASES["default"]["ENGINE"] = "tests.postgresql"  # noqa: F405  # a cheaper flush between tests
