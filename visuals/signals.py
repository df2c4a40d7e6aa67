"""Infrastructure only: stored files leave storage after the row's deletion commits,
and a saved or deleted asset or image request replaces its character's read token
(characters/read_tokens.py), so the polled reads answer anew."""

from django.conf import settings
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from characters.models import ApiKey
from characters.read_tokens import characters_changed

from .models import ImageRequest, VisualAsset
from .thumbnails import thumbnails_delete


def _delete_after_commit(field_file):
    if not field_file:
        return
    storage, name = field_file.storage, field_file.name
    transaction.on_commit(lambda: storage.delete(name))


@receiver(post_delete, sender=VisualAsset)
def remove_asset_file(sender, instance, **kwargs):
    _thumbnails_delete_after_commit(instance.pk)
    # A generated asset shares its file with the image request that produced it; the
    # request (the report) owns that file and removes it when it goes.
    if instance.image_request_id and instance.file.name:
        if ImageRequest.objects.filter(pk=instance.image_request_id).exists():
            return
    _delete_after_commit(instance.file)


def _thumbnails_delete_after_commit(key):
    transaction.on_commit(lambda: thumbnails_delete(key))


@receiver(post_delete, sender=ImageRequest)
def remove_generated_file(sender, instance, **kwargs):
    _thumbnails_delete_after_commit(instance.pk)
    # An asset made from this image outlives its request (e.g. a deleted session) and
    # keeps the file; the asset's own deletion removes it then.
    if instance.image and VisualAsset.objects.filter(file=instance.image.name).exists():
        return
    _delete_after_commit(instance.image)


@receiver(post_save, sender=VisualAsset)
@receiver(post_delete, sender=VisualAsset)
@receiver(post_save, sender=ImageRequest)
@receiver(post_delete, sender=ImageRequest)
def _character_reads_changed(sender, instance, **kwargs):
    characters_changed(instance.character_id)


# Saves of a user or a key that change no name an asset answer shows.
_NAMELESS_SAVES = {"last_login", "last_used_at", "revoked_at"}


@receiver(post_save, sender=settings.AUTH_USER_MODEL)
@receiver(post_save, sender=ApiKey)
def _decider_saved(sender, instance, created=False, update_fields=None, **kwargs):
    """Asset answers name who decided (a username, a key's name and prefix): the
    characters whose assets a renamed user or key decided answer anew."""
    if created or (update_fields is not None and set(update_fields) <= _NAMELESS_SAVES):
        return
    field = "decided_by_key" if sender is ApiKey else "decided_by"
    characters_changed(
        *VisualAsset.objects.filter(**{field: instance})
        .order_by()
        .values_list("character_id", flat=True)
        .distinct()
    )
