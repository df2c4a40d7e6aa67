from django.apps import AppConfig


class CurateConfig(AppConfig):
    name = "curate"
    verbose_name = "Curation"
