from django.apps import AppConfig


class CharactersConfig(AppConfig):
    name = "characters"
    verbose_name = "Accounts and characters"

    def ready(self):
        # Connect the signal receivers: the API-key cache's and the read tokens'.
        from . import keys, read_cache  # noqa: F401
