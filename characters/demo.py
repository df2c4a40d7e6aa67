"""The demo account of the embedded default: a developer key and a curator login.

The key is stored in the database only as a hash; its plaintext is kept in
var/demo-key (mode 600) so `make run` can print the same key at every start.
"""

import secrets
from pathlib import Path

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from .keys import api_key_authenticate, api_key_create
from .models import Account

DEMO_ACCOUNT = "demo"
CURATORS_GROUP = "curators"


def _read_secret(path: Path, make) -> str:
    if path.exists():
        return path.read_text().strip()
    value = make()
    path.write_text(value + "\n")
    path.chmod(0o600)
    return value


def demo_ensure(var_dir: Path) -> dict:
    account, _ = Account.objects.get_or_create(name=DEMO_ACCOUNT)
    key_file = Path(var_dir) / "demo-key"
    key = key_file.read_text().strip() if key_file.exists() else ""
    if not key or api_key_authenticate(key) is None:
        _, key = api_key_create(account=account, name="make run")
        key_file.write_text(key + "\n")
        key_file.chmod(0o600)

    password = _read_secret(
        Path(var_dir) / "curator-password", lambda: secrets.token_urlsafe(12)
    )
    User = get_user_model()
    user, created = User.objects.get_or_create(
        username="curator", defaults={"is_staff": True, "is_superuser": True}
    )
    if created or not user.check_password(password):
        user.set_password(password)
        user.save()
    group, _ = Group.objects.get_or_create(name=CURATORS_GROUP)
    user.groups.add(group)
    account.curators.add(user)
    return {"key": key, "username": user.username, "password": password}
