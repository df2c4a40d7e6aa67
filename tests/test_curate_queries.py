"""Pages with thousands of assets stay fast: a page costs the same number of queries at
two data sizes (paginated lists, bulk badges, thumbnails made lazily by URL)."""

import pytest

from characters.models import Character
from characters.services import character_create
from tests.curate_helpers import clone_assets, clone_requests, generate_held
from tests.helpers import ANCHORS, IMAGES_ON
from visuals.models import ImageRequest, VisualAsset

pytestmark = pytest.mark.django_db

SMALL, LARGE = 3, 400


def grow(account, n):
    """n more candidates, n more probe reports and n // 10 more characters."""
    mira = Character.objects.get(slug="mira")
    template = (
        VisualAsset.objects.filter(character=mira).exclude(category="identity").first()
    )
    clone_assets(template, n, asset_status="candidate", promotion_status="candidate")
    clone_assets(template, n, asset_status="active", category="wardrobe")
    probe = ImageRequest.objects.filter(character=mira).first()
    clone_requests(probe, n, origin="probe", probe_type="identity_selfie", category="")
    identity = VisualAsset.objects.get(character=mira, category="identity")
    start = Character.objects.count()
    for i in range(n // 10):
        other = character_create(
            account=account,
            slug=f"extra-{start + i}",
            name=f"Extra {i}",
            profile={"identity_anchors": ANCHORS},
            behavioral_thresholds=IMAGES_ON,
        )
        clone_assets(identity, 1, character_id=other.pk)
        clone_assets(template, 2, character_id=other.pk)


def _held_one(character) -> str:
    return str(
        VisualAsset.objects.filter(character=character, asset_status="candidate")
        .values_list("pk", flat=True)
        .first()
    )


PAGES = {
    "characters": (lambda c: "/curate/", 6),
    # The character page: 10 + the identity drift chart and the generator rates.
    "character": (lambda c: f"/curate/characters/{c.pk}/", 12),
    "asset": (lambda c: f"/curate/assets/{_held_one(c)}/", 7),
    "assets": (lambda c: f"/curate/characters/{c.pk}/assets/", 6),
    # The review queue: 8 + the generator list of its filter.
    "review": (lambda c: "/curate/review/", 9),
    "review_filtered": (lambda c: f"/curate/review/?character={c.pk}&category=prop", 9),
    "review_sorted": (
        lambda c: "/curate/review/?sort=score&source=inventory&verdict=passed",
        9,
    ),
    "reports": (lambda c: "/curate/reports/", 6),
}


@pytest.mark.parametrize("page", sorted(PAGES))
def test_pages_cost_a_constant_number_of_queries(
    page, api, ready, account, curator_client, django_assert_max_num_queries
):
    generate_held(api, ready, categories=["prop", "wardrobe"])
    url, budget = PAGES[page]
    mira = Character.objects.get(slug="mira")
    grow(account, SMALL)
    with django_assert_max_num_queries(budget) as small:
        assert curator_client.get(url(mira)).status_code == 200
    grow(account, LARGE)
    assert VisualAsset.objects.count() > 2 * LARGE
    with django_assert_max_num_queries(budget) as large:
        assert curator_client.get(url(mira)).status_code == 200
    # Constant, not merely bounded: the same queries whatever the volume.
    assert len(large.captured_queries) == len(small.captured_queries)


def test_report_detail_and_status_cost_a_constant_number_of_queries(
    api, ready, account, curator_client, django_assert_max_num_queries
):
    generate_held(api, ready, categories=["prop"])
    row = ImageRequest.objects.get()
    for n in (SMALL, LARGE):
        grow(account, n)
        with django_assert_max_num_queries(5):
            assert curator_client.get(f"/curate/reports/{row.pk}/").status_code == 200
        with django_assert_max_num_queries(5):
            assert (
                curator_client.get(f"/curate/reports/{row.pk}/status.json").status_code
                == 200
            )
