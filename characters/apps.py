from django.apps import AppConfig


class CharactersConfig(AppConfig):
    name = "characters"
    verbose_name = "Accounts and characters"

    def ready(self):
        from . import keys  # noqa: F401  (connects the API-key cache's signal receivers)
