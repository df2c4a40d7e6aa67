"""Thumbnail URLs: make the thumbnail on first use, then redirect to it in storage.

Curators see the thumbnails of the characters they are granted; staff who may view
assets in the admin see every thumbnail (the admin lists show them too).
"""

from django.http import Http404, HttpResponseRedirect
from django.views.decorators.http import require_GET

from visuals.models import ImageRequest, VisualAsset
from visuals.thumbnails import SIZES, thumbnail_url

from ..access import is_curator, visible_characters

CACHE = "private, max-age=86400"


def _rows(request, model):
    user = request.user
    if (
        user.is_authenticated
        and user.is_staff
        and user.has_perm(f"visuals.view_{model._meta.model_name}")
    ):
        return model.objects.all()
    if is_curator(user):
        return model.objects.filter(character__in=visible_characters(user))
    raise Http404


def _redirect(key, field_file, size):
    if size not in SIZES or not field_file:
        raise Http404
    response = HttpResponseRedirect(
        thumbnail_url(key=key, field_file=field_file, size=size)
    )
    response["Cache-Control"] = CACHE
    return response


@require_GET
def asset_thumb(request, pk, size):
    asset = _rows(request, VisualAsset).only("id", "file").filter(pk=pk).first()
    if asset is None:
        raise Http404
    return _redirect(asset.pk, asset.file, size)


@require_GET
def request_thumb(request, pk, size):
    row = _rows(request, ImageRequest).only("id", "image").filter(pk=pk).first()
    if row is None or not row.image:
        raise Http404
    return _redirect(row.pk, row.image, size)
