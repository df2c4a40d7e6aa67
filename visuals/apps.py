from django.apps import AppConfig


class VisualsConfig(AppConfig):
    name = "visuals"
    verbose_name = "Visual identity"

    def ready(self):
        from characters.readiness import register_checks

        from . import signals  # noqa: F401  (file clean-up after delete)
        from .metering import budget_checks
        from .readiness import visual_checks

        register_checks(budget_checks, after="voice")
        register_checks(visual_checks)

        from .engine.backends import generators_check

        generators_check()  # refuse to start with a generator that cannot work
