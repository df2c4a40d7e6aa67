"""A curator's day in a real browser: sign in, review a held batch from the keyboard
alone, watch readiness change, follow a report and a batch while they generate."""

import re

import pytest
from playwright.sync_api import expect

from characters.models import Character
from tests.curate_helpers import PASSWORD, generate_held, held_asset_ids, make_user
from tests.helpers import ANCHORS
from visuals.models import ImageRequest

pytestmark = pytest.mark.django_db(transaction=True)


def sign_in(page, live_server, username="cora", next_path="/curate/"):
    page.goto(f"{live_server.url}{next_path}")
    expect(page).to_have_url(re.compile(r"/accounts/login/"))
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(re.escape(next_path.split("?")[0]) + r"(\?|$)"))
    # The page's deferred scripts (the filters' auto-submit, the keys) run before
    # DOMContentLoaded: a test that acts at once must not race them.
    page.wait_for_load_state("domcontentloaded")


def test_sign_in_and_see_the_characters(page, live_server, api, ready, curator, shot):
    generate_held(api, ready, categories=["wardrobe", "prop"])
    page.goto(f"{live_server.url}/curate/")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    shot(page, "01-sign-in")
    sign_in(page, live_server)
    expect(page.get_by_role("heading", name="Characters")).to_be_visible()
    row = page.get_by_role("row", name=re.compile("Mira"))
    expect(row.get_by_text("Ready with warnings")).to_be_visible()
    expect(row.get_by_text("2 held")).to_be_visible()
    shot(page, "02-characters")


def test_review_a_held_batch_with_the_keyboard_alone(
    page, live_server, api, ready, curator, shot
):
    """Done when: decided in the browser, the API reports the same statuses."""
    generate_held(api, ready, categories=["wardrobe", "prop", "place"])
    first, second, third = held_asset_ids()
    sign_in(page, live_server, next_path="/curate/review/")
    cards = page.locator(".rcard")
    expect(cards).to_have_count(3)
    expect(page.locator(".shortcuts")).to_contain_text("approve")
    badge = page.locator(".qgroup-head [data-readiness-for]")
    expect(badge).to_have_text("Ready with warnings")
    expect(cards.nth(0)).to_have_class(re.compile(r"\bcurrent\b"))
    shot(page, "03-review-queue")

    page.keyboard.press("j")
    expect(cards.nth(1)).to_have_class(re.compile(r"\bcurrent\b"))
    page.keyboard.press("k")
    expect(cards.nth(0)).to_have_class(re.compile(r"\bcurrent\b"))

    page.keyboard.press("a")  # approve the wardrobe candidate
    expect(cards.nth(0)).to_have_class(re.compile(r"\bapproved\b"))
    expect(cards.nth(0).locator(".decision-line")).to_contain_text("Approved by cora")
    expect(badge).to_have_text(
        "Ready"
    )  # inventory_coverage is ok now: readiness changed
    expect(cards.nth(1)).to_have_class(re.compile(r"\bcurrent\b"))

    page.keyboard.press("r")  # reject the prop, with a reason typed and Enter
    reason = cards.nth(1).locator('input[name="reason"]')
    expect(reason).to_be_focused()
    page.keyboard.type("the mug is off-model")
    shot(page, "04-review-rejecting")
    page.keyboard.press("Enter")
    expect(cards.nth(1)).to_have_class(re.compile(r"\brejected\b"))
    expect(cards.nth(1).locator(".decision-line")).to_contain_text(
        "the mug is off-model"
    )

    page.keyboard.press("r")  # start rejecting the place, then think better of it
    page.keyboard.press("Escape")
    expect(cards.nth(2)).not_to_have_class(re.compile(r"\brejecting\b"))
    page.keyboard.press("a")
    expect(cards.nth(2)).to_have_class(re.compile(r"\bapproved\b"))
    expect(page.locator("#page-done")).to_be_visible()
    expect(page.locator("[data-held-for]")).to_have_text("0")
    shot(page, "05-review-done")

    statuses = {
        asset_id: api.get(f"/v1/characters/mira/visual-assets/{asset_id}").json()[
            "data"
        ]
        for asset_id in (first, second, third)
    }
    assert statuses[first]["asset_status"] == "active"
    assert statuses[first]["promotion_status"] == "approved_keyframe"
    assert statuses[second]["asset_status"] == "rejected"
    assert statuses[third]["asset_status"] == "active"
    readiness = api.get("/v1/characters/mira/visual-readiness").json()
    assert readiness["status"] == "ready"

    page.goto(
        f"{live_server.url}/curate/characters/{Character.objects.get(slug='mira').pk}/"
    )
    expect(page.locator("#readiness-badge")).to_have_text("Ready")
    shot(page, "06-character")


def test_approve_all_visible_acts_on_the_filtered_cards_only(
    page, live_server, api, ready, curator, shot
):
    generate_held(api, ready, categories=["wardrobe", "prop", "place"])
    sign_in(page, live_server, next_path="/curate/review/")
    page.get_by_label("Category").select_option("prop")
    expect(page).to_have_url(re.compile(r"category=prop"))
    expect(page.locator(".rcard")).to_have_count(1)
    page.once("dialog", lambda dialog: dialog.accept())
    page.keyboard.press("Shift+A")
    expect(page.locator(".rcard.approved")).to_have_count(1)
    statuses = {
        g["category"]: g["asset_status"]
        for g in (
            api.get(f"/v1/characters/mira/visual-assets/{i}").json()["data"]
            for i in held_asset_ids() + [a for a in _all_inventory_ids()]
        )
    }
    assert statuses == {"prop": "active", "wardrobe": "candidate", "place": "candidate"}


def _all_inventory_ids():
    from visuals.models import VisualAsset

    return [
        str(pk)
        for pk in VisualAsset.objects.exclude(category="identity").values_list(
            "pk", flat=True
        )
    ]


def test_a_report_updates_itself_while_it_generates(
    page, live_server, api, ready, curator, shot
):
    response = api.post(
        "/v1/characters/mira/image-probe",
        {"probe_type": "identity_selfie", "session_id": ready["session_id"]},
        format="json",
    )
    probe = ImageRequest.objects.get(pk=response.json()["data"]["probe_id"])
    fields = ("request_status", "completed_at", "servable", "image", "consistency")
    finished = {f: getattr(probe, f) for f in fields}
    ImageRequest.objects.filter(pk=probe.pk).update(
        request_status="generating",
        completed_at=None,
        servable=False,
        image="",
        consistency=None,
    )

    fetched = []
    page.on("request", lambda request: fetched.append(request.url))
    sign_in(page, live_server, next_path=f"/curate/reports/{probe.pk}/")
    expect(page.locator("#report-state")).to_have_text("generating")
    expect(page.get_by_text("Generating…")).to_be_visible()
    shot(page, "07-report-generating")

    ImageRequest.objects.filter(pk=probe.pk).update(**finished)
    expect(page.locator("#report-state")).to_have_text("ready", timeout=10_000)
    image = page.get_by_alt_text("Generated image")
    expect(image).to_be_visible()
    page.wait_for_function(
        "img => img.complete && img.naturalWidth > 0", arg=image.element_handle()
    )
    expect(page.locator(".report-body")).to_contain_text("Passed")
    shot(page, "08-report-ready")
    # Followed by its server-sent stream, not by polling.
    assert f"{live_server.url}/curate/reports/{probe.pk}/stream" in fetched
    assert not [url for url in fetched if url.endswith("/status.json")]

    page.goto(f"{live_server.url}/curate/reports/")
    expect(page.get_by_role("link", name="identity_selfie")).to_be_visible()
    shot(page, "09-reports")


def test_run_a_batch_from_the_character_page_and_watch_it(
    page, live_server, api, ready, curator, shot
):
    mira = Character.objects.get(slug="mira")
    sign_in(page, live_server, next_path=f"/curate/characters/{mira.pk}/")
    run = page.locator("#run")
    run.get_by_label("wardrobe", exact=True).check()
    run.get_by_label("prop", exact=True).check()
    run.get_by_label("Per category").fill("2")
    shot(page, "10-run-form")
    # In live_server tests Celery is eager: the images are made during the POST. Put two
    # back to generating as the page loads to watch the progress panel follow them.
    run.get_by_role("button", name="Generate batch").click()
    expect(page).to_have_url(re.compile(r"\?batch="))
    expect(page.locator("#progress")).to_contain_text("4 of 4")
    rows = list(ImageRequest.objects.filter(character=mira).order_by("created_at"))
    saved = {r.pk: (r.request_status, r.completed_at) for r in rows[:2]}
    ImageRequest.objects.filter(pk__in=saved).update(
        request_status="generating", completed_at=None
    )
    fetched = []
    page.on("request", lambda request: fetched.append(request.url))
    page.reload()
    expect(page.locator("#progress .progress-text")).to_contain_text("2 of 4")
    expect(page.locator("#progress .spinner")).to_have_count(2)
    shot(page, "11-batch-progress")
    for pk, (status, completed_at) in saved.items():
        ImageRequest.objects.filter(pk=pk).update(
            request_status=status, completed_at=completed_at
        )
    expect(page.locator("#progress .progress-text")).to_contain_text(
        "4 of 4", timeout=10_000
    )
    review = page.get_by_role("link", name=re.compile(r"Review the 4 held candidate"))
    expect(review).to_be_visible()
    shot(page, "12-batch-done")
    # Followed by its server-sent stream, not by polling.
    assert [url for url in fetched if url.endswith("/stream")]
    assert not [url for url in fetched if "/batches/" in url and url.endswith(".json")]
    review.click()
    expect(page.locator(".rcard")).to_have_count(4)


def test_admin_anchors_editor_and_key_minting(
    page, live_server, api, make_character, account, shot
):
    make_character("mira", anchors=["warm", "tired-eyed"])
    make_user("ada", curator=False, superuser=True)
    mira = Character.objects.get(slug="mira")
    page.goto(
        f"{live_server.url}/admin/login/?next=/admin/characters/character/{mira.pk}/change/"
    )
    page.get_by_label("Username").fill("ada")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_text("The active version has a list.")).to_be_visible()
    shot(page, "13-admin-anchors-list")
    page.locator("#id_identity_anchors").fill('["still", "a list"]')
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator(".errorlist")).to_contain_text(
        "non-bootstrap selfie requires a self visual reference"
    )
    import json

    page.locator("#id_identity_anchors").fill(json.dumps(ANCHORS))
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator(".messagelist")).to_contain_text("changed successfully")
    mira.refresh_from_db()
    assert (
        mira.active_version.number == 2
        and mira.active_version.identity_anchors == ANCHORS
    )
    shot(page, "14-admin-characters")

    page.goto(f"{live_server.url}/admin/characters/apikey/add/")
    page.get_by_label("Account").select_option(label="acme")
    page.get_by_role("button", name="Mint key").click()
    expect(page.locator("#minted-key")).to_have_text(re.compile(r"^lok_"))
    shot(page, "15-admin-key-minted")
