from django.apps import AppConfig


class AgileConfig(AppConfig):
    name = "agile"
    verbose_name = "Boards and sprints"
