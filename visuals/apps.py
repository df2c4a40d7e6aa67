from django.apps import AppConfig


class VisualsConfig(AppConfig):
    name = "visuals"
    verbose_name = "Visual identity"

    def ready(self):
        from . import signals  # noqa: F401  (file clean-up after delete)
