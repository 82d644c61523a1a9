from django.apps import AppConfig

from lib.secret_values import KNOWN_SECRETS


class ProjectsConfig(AppConfig):
    name = "projects"
    verbose_name = "Jira instances and projects"

    def ready(self) -> None:
        from projects.selectors import instance_secret_values

        # Read on first use, not now: no database access while apps load.
        KNOWN_SECRETS.add_source(instance_secret_values)
