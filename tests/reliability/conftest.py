from tests.syncing.conftest import quick_retries  # noqa: F401 - retries back off in milliseconds here
