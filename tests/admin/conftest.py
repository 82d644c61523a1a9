import pytest
from django.core.cache import cache

from tests.security.conftest import staff_with  # noqa: F401 - a staff client holding exactly some permissions
from tests.syncing.conftest import cloud_site, dc_site, quick_retries  # noqa: F401 - the same simulated sites


@pytest.fixture(autouse=True)
def fresh_cache():
    """Cached lookups (the issue statuses) must not leak from one test's data into the next."""
    cache.clear()
    yield
    cache.clear()
