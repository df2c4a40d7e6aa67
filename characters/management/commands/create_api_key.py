from django.core.management.base import BaseCommand

from characters.keys import api_key_create
from characters.models import Account, ApiKey


class Command(BaseCommand):
    help = (
        "Mint an API key for an account (created if needed); the key is the last line."
    )

    def add_arguments(self, parser):
        parser.add_argument("--account", required=True, help="account name")
        parser.add_argument("--demo", action="store_true", help="a demo sandbox key")
        parser.add_argument("--name", default="", help="a label for the key")

    def handle(self, *args, account, demo, name, **options):
        acct, created = Account.objects.get_or_create(name=account)
        kind = ApiKey.Kind.DEMO if demo else ApiKey.Kind.DEVELOPER
        api_key, raw = api_key_create(account=acct, kind=kind, name=name)
        if created:
            self.stderr.write(f"created account {acct.name}")
        self.stderr.write(
            f"{kind} key {api_key.prefix}… (shown once; stored only as a hash)"
        )
        self.stdout.write(raw)
