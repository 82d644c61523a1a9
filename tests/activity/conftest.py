from tests.syncing.conftest import cloud_site, dc_site, quick_retries  # noqa: F401 - the same simulated sites
