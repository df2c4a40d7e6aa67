from django.apps import AppConfig


class HooksConfig(AppConfig):
    name = "hooks"
    verbose_name = "Webhooks"

    def ready(self):
        from characters.readiness import register_checks

        from .readiness import webhook_checks

        register_checks(webhook_checks)
