"""The curator workbench (issue 17) without a browser: queue filters and sorts in the
URL, a failed run form that keeps its inputs, the identity drift chart, generator
rates, the review-stats page, and one styled 404 page for every curator URL."""

import json
import re

import pytest

from characters.models import Character
from tests.curate_helpers import client_for, generate_held, held_asset_ids, make_user
from visuals.models import ImageRequest, VisualAsset

pytestmark = pytest.mark.django_db


def _decide(client, ids, decision, reason=""):
    return client.post(
        "/curate/review/decide.json",
        json.dumps({"ids": ids, "decision": decision, "reason": reason}),
        content_type="application/json",
    )


def _card_ids(body: str) -> list[str]:
    return re.findall(r'class="rcard" id="card-[^"]+" data-id="([^"]+)"', body)


def test_queue_filters_by_source_batch_generator_and_sorts_by_identity_distance(
    api, ready, curator_client
):
    batch = generate_held(api, ready, categories=["wardrobe", "prop"])
    generate_held(api, ready, categories=["place"])
    first_batch = {
        str(a.pk) for a in VisualAsset.objects.filter(category__in=["wardrobe", "prop"])
    }
    batch_id = ImageRequest.objects.filter(category="wardrobe").get().batch_id
    assert batch  # the API answered with the batch

    def ids(query):
        return _card_ids(
            curator_client.get(f"/curate/review/?{query}").content.decode()
        )

    assert len(ids("")) == 3
    assert set(ids(f"batch={batch_id}")) == first_batch
    assert len(ids("source=inventory")) == 3 and ids("source=probe") == []
    # By the named generator that made them (the unnamed one is "default"), as the
    # filter's options list them; a backend's name is not a generator's.
    backend = ImageRequest.objects.first().backend
    assert len(ids("generator=default")) == 3 and ids("generator=elsewhere") == []
    assert ids(f"generator={backend}") == []
    ImageRequest.objects.filter(category="place").update(generator="gpu-farm")
    place = {str(a.pk) for a in VisualAsset.objects.filter(category="place")}
    assert set(ids("generator=gpu-farm")) == place
    assert set(ids("generator=default")) == first_batch
    queue = curator_client.get("/curate/review/").content.decode()
    assert '<option value="default"' in queue and '<option value="gpu-farm"' in queue
    assert ids("sort=newest") == list(reversed(ids("")))
    # Identity distance: only the wardrobe image shows a face; it sorts first when
    # closest first, and unmeasured images come after it either way.
    wardrobe = str(VisualAsset.objects.get(category="wardrobe").pk)
    assert ids("sort=score")[0] == wardrobe
    assert ids("sort=-score")[0] == wardrobe
    # The filter is the URL: a bad value is said, not silently dropped.
    body = curator_client.get("/curate/review/?batch=nope").content.decode()
    assert "batch: " in body and "valid UUID" in body


def test_held_count_is_plural_right(api, ready, curator_client):
    generate_held(api, ready, categories=["wardrobe"])
    body = curator_client.get("/curate/review/").content.decode()
    assert re.search(r">1</span> held candidate\.", body)
    generate_held(api, ready, categories=["prop"])
    body = curator_client.get("/curate/review/").content.decode()
    assert re.search(r">2</span> held candidates\.", body)


def test_a_failed_batch_form_keeps_every_input_and_says_why_next_to_it(
    api, ready, curator_client
):
    mira = Character.objects.get(slug="mira")
    response = curator_client.post(
        f"/curate/characters/{mira.pk}/batch",
        {
            "categories": ["wardrobe", "prop", "place"],
            "count_per_category": "4",
            "style_brief": "film grain, autumn light",
            "forbidden": "tattoos\nglasses",
        },
    )
    assert response.status_code == 422
    body = response.content.decode()
    assert "12 images requested; max 8 per batch" in body
    assert 'class="stack has-errors"' in body
    for value in ("wardrobe", "prop", "place"):
        assert re.search(rf'value="{value}"[^>]*checked', body), value
    assert not re.search(r'value="scene"[^>]*checked', body)
    assert 'value="4"' in body
    assert 'value="film grain, autumn light"' in body
    assert "tattoos\nglasses</textarea>" in body
    assert ImageRequest.objects.filter(origin="inventory").count() == 0

    # A field error sits next to its field.
    response = curator_client.post(
        f"/curate/characters/{mira.pk}/batch",
        {"count_per_category": "9", "style_brief": "kept"},
    )
    body = response.content.decode()
    assert response.status_code == 422
    assert 'id="err-categories"' in body and 'aria-invalid="true"' in body
    assert 'value="kept"' in body


def test_the_drift_chart_has_a_point_per_measured_image_linking_to_its_report(
    api, ready, curator_client
):
    generate_held(api, ready, categories=["wardrobe", "prop"], count=2)
    mira = Character.objects.get(slug="mira")
    measured = [
        r
        for r in ImageRequest.objects.filter(character=mira)
        if (r.brief.get("judge") or {}).get("identity_distance") is not None
    ]
    assert measured  # the wardrobe images show the face
    body = curator_client.get(f"/curate/characters/{mira.pk}/").content.decode()
    svg = body[body.index('<svg class="drift"') : body.index("</svg>")]
    assert svg.count("<circle") == len(measured)
    for row in measured:
        assert f'href="/curate/reports/{row.pk}/"' in svg
    assert 'class="band band-pass"' in svg and 'class="band band-fail"' in svg
    assert "pass ≤ 0.5" in svg and "fail ≥ 0.65" in svg


def test_generator_rates_count_only_decisions_taken_by_someone(
    api, ready, curator_client
):
    generate_held(api, ready, categories=["wardrobe", "prop", "place"])
    first, second, third = held_asset_ids()
    _decide(curator_client, [first, second], "approve")
    _decide(curator_client, [third], "reject")
    mira = Character.objects.get(slug="mira")
    body = curator_client.get(f"/curate/characters/{mira.pk}/").content.decode()
    table = body[body.index("Approval by generator") :]
    backend = ImageRequest.objects.first().backend
    row = re.search(rf"<td class=\"mono\">{backend}</td>(.*?)</tr>", table).group(1)
    assert re.findall(r"<td>([^<]+)</td>", row) == ["3", "2", "1", "0", "67%"]


def test_generator_rates_are_per_named_generator_with_its_backend(
    api, ready, curator_client
):
    generate_held(api, ready, categories=["wardrobe", "prop", "place"])
    first, second, third = held_asset_ids()
    # Two of them made by a named generator (LOREOS_GENERATORS), one by the default.
    ImageRequest.objects.filter(produced_asset__in=[first, second]).update(
        generator="gpu-farm"
    )
    _decide(curator_client, [first], "approve")
    _decide(curator_client, [second, third], "reject")
    mira = Character.objects.get(slug="mira")
    body = curator_client.get(f"/curate/characters/{mira.pk}/").content.decode()
    table = body[body.index("Approval by generator") : body.index("</table>")]
    backend = ImageRequest.objects.first().backend
    rows = re.findall(
        r'<th scope="row" class="mono">([^<]+)</th><td class="mono">([^<]+)</td>'
        r"((?:<td>[^<]*</td>)+)",
        table,
    )
    cells = {(g, b): re.findall(r"<td>([^<]+)</td>", rest) for g, b, rest in rows}
    assert cells == {
        ("default", backend): ["1", "0", "1", "0", "0%"],
        ("gpu-farm", backend): ["2", "1", "1", "0", "50%"],
    }
    stats = curator_client.get("/curate/review/stats/").content.decode()
    by_generator = stats[stats.index("Approval rate by generator") :]
    assert f"gpu-farm · {backend}" in by_generator
    assert f"default · {backend}" in by_generator


def test_review_stats_per_curator_per_day_rates_and_median_time(
    api, ready, account, curator_client
):
    generate_held(api, ready, categories=["wardrobe", "prop", "place"])
    first, second, third = held_asset_ids()
    otto = client_for(make_user("otto", accounts=[account]))
    _decide(curator_client, [first], "approve")
    _decide(curator_client, [second], "reject")
    _decide(otto, [third], "approve")
    body = curator_client.get("/curate/review/stats/").content.decode()
    assert "3 decisions" in body
    per_day = body[body.index('id="per-day"') :]
    assert re.search(r"<td>cora</td><td>2</td>", per_day)
    assert re.search(r"<td>otto</td><td>1</td>", per_day)
    category = body[body.index("Approval rate by category") :]
    assert re.search(r"wardrobe</td><td>1</td><td>0</td>", category)
    assert re.search(r"prop</td><td>0</td><td>1</td>", category)
    # cora decided twice in a row: one gap, so a median (seconds, not minutes).
    median = re.search(r'id="median-time">([\d.]+) s<', body)
    assert median and float(median.group(1)) < 60


def test_review_stats_cost_a_constant_number_of_queries(
    api, ready, curator_client, django_assert_num_queries
):
    generate_held(api, ready, categories=["wardrobe", "prop", "place"])
    ids = held_asset_ids()
    _decide(curator_client, ids[:1], "approve")
    with django_assert_num_queries(5):
        curator_client.get("/curate/review/stats/")
    _decide(curator_client, ids[1:], "reject")
    with django_assert_num_queries(5):
        curator_client.get("/curate/review/stats/")


@pytest.mark.parametrize(
    "path",
    ["/curate/nothing-here", "/curate/assets/not-a-uuid/", "/curate/review/x/y"],
)
def test_every_unknown_curator_url_is_the_styled_404_page(curator_client, path):
    response = curator_client.get(path)
    assert response.status_code == 404
    body = response.content.decode()
    assert "curate/curate.css" in body and "<h1>Not found</h1>" in body


def test_a_non_curator_gets_the_styled_403_page_on_any_curator_url(db):
    client = client_for(make_user("walt", curator=False))
    for path in ("/curate/", "/curate/review/stats/", "/curate/review/"):
        response = client.get(path)
        assert response.status_code == 403, path
        assert "<h1>Not allowed</h1>" in response.content.decode()
