"""The curator workbench (issue 17) in a real browser: the dense grid and the focus
view, a keyboard-only review of a held 8-image batch (presets, bulk shortcuts, undo),
two curators deciding the same candidate at once."""

import re

import pytest
from playwright.sync_api import expect

from characters.models import Character
from tests.browser.conftest import ARTIFACTS
from tests.browser.test_curate_browser import sign_in
from tests.curate_helpers import PASSWORD, generate_held, held_asset_ids, make_user
from visuals.models import AssetDecision, ImageRequest, VisualAsset

pytestmark = pytest.mark.django_db(transaction=True)

EIGHT = {"categories": ["wardrobe", "prop", "place", "accessory"], "count": 2}
DESKTOP = {"width": 1280, "height": 720}


def _held_eight(api, ready):
    generate_held(api, ready, **EIGHT)
    ids = held_asset_ids()
    assert len(ids) == 8
    return ids


def _in_viewport(page, locator) -> int:
    """How many of the located elements are entirely inside the viewport."""
    return locator.evaluate_all(
        """els => els.filter(e => {
            const r = e.getBoundingClientRect();
            return r.top >= 0 && r.left >= 0 && r.bottom <= innerHeight
                && r.right <= innerWidth && r.width > 0;
        }).length"""
    )


def test_the_grid_shows_eight_candidates_at_1280x720_and_the_focus_view_zooms(
    page, live_server, api, ready, curator, shot
):
    _held_eight(api, ready)
    page.set_viewport_size(DESKTOP)
    sign_in(page, live_server, next_path="/curate/review/")
    cards = page.locator(".rcard")
    expect(cards).to_have_count(8)
    assert _in_viewport(page, cards) >= 8
    # One group, its identity portrait once; the grid loads sized thumbnails only.
    expect(page.locator(".qgroup")).to_have_count(1)
    expect(page.locator(".qportrait")).to_have_count(1)
    sources = page.locator(".qgrid img").evaluate_all("els => els.map(e => e.src)")
    assert all(re.search(r"/curate/thumbs/a/[0-9a-f-]+/240$", s) for s in sources)
    shot(page, "19-review-grid")

    page.keyboard.press("Enter")  # the current (first) candidate, large
    dialog = page.locator("#focus")
    expect(dialog).to_be_visible()
    expect(page.locator("#focus-portrait")).to_have_attribute(
        "src", re.compile(r"/640$")
    )
    expect(page.locator("#focus-checks li").first).to_contain_text(
        re.compile(r"face distance", re.IGNORECASE)
    )
    image = page.locator("#focus-image")
    expect(image).to_have_attribute("src", re.compile(r"/media/"))
    page.keyboard.press("+")
    page.keyboard.press("+")
    expect(page.locator("#focus-zoom")).to_have_text("225%")
    page.keyboard.press("ArrowLeft")
    assert "translate(40px, 0px) scale(2.25)" in image.get_attribute("style")
    page.locator("#zoomport").hover()
    page.mouse.wheel(0, 200)  # scroll down: zoom out by a step
    expect(page.locator("#focus-zoom")).to_have_text("180%")
    page.keyboard.press("0")
    expect(page.locator("#focus-zoom")).to_have_text("100%")
    shot(page, "20-focus-view")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()


def test_keyboard_only_review_of_a_held_batch_with_presets_bulk_and_undo(
    page, live_server, api, ready, curator, shot
):
    ids = _held_eight(api, ready)
    page.set_viewport_size(DESKTOP)
    sign_in(page, live_server, next_path="/curate/review/")
    cards = page.locator(".rcard")
    expect(cards.nth(0)).to_have_class(re.compile(r"\bcurrent\b"))

    page.keyboard.press("?")
    expect(page.locator("#help")).to_be_visible()
    expect(page.locator("#help")).to_contain_text("face drift")
    shot(page, "21-shortcuts")
    page.keyboard.press("Escape")
    expect(page.locator("#help")).to_be_hidden()

    page.keyboard.press("a")  # 1: approve
    expect(cards.nth(0)).to_have_class(re.compile(r"\bapproved\b"))
    page.keyboard.press("1")  # 2: reject as "face drift"
    expect(cards.nth(1).locator(".decision-line")).to_contain_text("face drift")
    page.keyboard.press("3")  # 3: reject as "artifact"
    expect(cards.nth(2).locator(".decision-line")).to_contain_text("artifact")

    page.keyboard.press("u")  # undo "artifact": card 3 is back in the queue
    expect(cards.nth(2)).not_to_have_class(re.compile(r"\bdecided\b"))
    expect(cards.nth(2)).to_have_class(re.compile(r"\bcurrent\b"))
    page.keyboard.press("2")  # 3 again: "wrong outfit"
    expect(cards.nth(2).locator(".decision-line")).to_contain_text("wrong outfit")

    # 4, 5 selected and approved with Shift+E; 6, 7 selected and rejected with Shift+R.
    for _ in range(2):
        page.keyboard.press("x")
        page.keyboard.press("j")
    page.keyboard.press("Shift+E")
    expect(cards.nth(3)).to_have_class(re.compile(r"\bapproved\b"))
    expect(cards.nth(4)).to_have_class(re.compile(r"\bapproved\b"))
    page.keyboard.press("x")
    page.keyboard.press("j")
    page.keyboard.press("x")
    page.keyboard.press("Shift+R")
    expect(cards.nth(5)).to_have_class(re.compile(r"\brejected\b"))
    expect(cards.nth(6)).to_have_class(re.compile(r"\brejected\b"))
    page.keyboard.press("r")  # 8: typed reason
    page.keyboard.type("double chin")
    page.keyboard.press("Enter")
    expect(page.locator("#page-done")).to_be_visible()
    shot(page, "22-review-done-by-keyboard")

    statuses = {
        str(a.pk): (a.asset_status, a.decision_reason)
        for a in VisualAsset.objects.filter(pk__in=ids)
    }
    assert [statuses[i] for i in ids] == [
        ("active", ""),
        ("rejected", "face drift"),
        ("rejected", "wrong outfit"),
        ("active", ""),
        ("active", ""),
        ("rejected", ""),
        ("rejected", ""),
        ("rejected", "double chin"),
    ]
    # The undo is in the third candidate's history: reject, reopen, reject.
    history = AssetDecision.objects.filter(asset_id=ids[2]).order_by("decided_at", "id")
    assert [h.reason for h in history] == ["artifact", "undo", "wrong outfit"]


def test_two_curators_deciding_the_same_candidate(
    browser, live_server, api, ready, account, curator, shot
):
    generate_held(api, ready, categories=["wardrobe"])
    (asset_id,) = held_asset_ids()
    make_user("otto", accounts=[account])
    cora = browser.new_context(viewport=DESKTOP).new_page()
    otto = browser.new_context(viewport=DESKTOP).new_page()
    sign_in(cora, live_server, next_path="/curate/review/")
    sign_in(otto, live_server, "otto", next_path="/curate/review/")

    otto.keyboard.press("1")  # otto rejects first, as "face drift"
    expect(otto.locator(".rcard").first).to_have_class(re.compile(r"\brejected\b"))

    cora.keyboard.press("a")  # cora still sees the candidate as it was
    card = cora.locator(".rcard").first
    expect(card).to_have_class(re.compile(r"\bconflict\b"))
    line = card.locator(".decision-line")
    expect(line).to_contain_text("Already decided")
    expect(line).to_contain_text("Rejected by otto")
    expect(line).to_contain_text("face drift")
    expect(line).to_contain_text("not applied")
    expect(cora.locator("#remaining")).to_have_text("0")
    expect(cora.locator("[data-held-for]")).to_have_text("0")
    shot(cora, "23-two-curators-refused")
    asset = VisualAsset.objects.get(pk=asset_id)
    assert (asset.asset_status, asset.decided_by.username) == ("rejected", "otto")
    cora.context.close()
    otto.context.close()


def test_a_failed_batch_form_keeps_its_inputs_and_shows_the_error(
    page, live_server, api, ready, curator, shot
):
    mira = Character.objects.get(slug="mira")
    page.set_viewport_size(DESKTOP)
    sign_in(page, live_server, next_path=f"/curate/characters/{mira.pk}/")
    form = page.locator("form", has=page.get_by_role("button", name="Generate batch"))
    for name in ("wardrobe", "prop", "place"):
        form.get_by_label(name, exact=True).check()
    form.get_by_label("Per category").fill("4")
    form.get_by_label("Style brief").fill("film grain, autumn light")
    form.get_by_label("Forbidden").fill("tattoos\nglasses")
    form.get_by_role("button", name="Generate batch").click()

    form = page.locator("form.has-errors")
    error = form.locator("#batch-errors")
    expect(error).to_contain_text("12 images requested; max 8")
    expect(error).to_be_in_viewport()  # scrolled to, not off-screen
    for name in ("wardrobe", "prop", "place"):
        expect(form.get_by_label(name, exact=True)).to_be_checked()
    expect(form.get_by_label("scene", exact=True)).not_to_be_checked()
    expect(form.get_by_label("Per category")).to_have_value("4")
    expect(form.get_by_label("Style brief")).to_have_value("film grain, autumn light")
    expect(form.get_by_label("Forbidden")).to_have_value("tattoos\nglasses")
    page.screenshot(path=str(ARTIFACTS / "24-batch-form-error.png"))
    assert ImageRequest.objects.filter(origin="inventory").count() == 0


def test_the_drift_chart_has_a_point_per_generated_image(
    page, live_server, api, ready, curator, shot
):
    generate_held(api, ready, categories=["wardrobe"], count=3)
    mira = Character.objects.get(slug="mira")
    measured = [
        r
        for r in ImageRequest.objects.filter(character=mira).order_by(
            "created_at", "id"
        )
        if (r.brief.get("judge") or {}).get("identity_distance") is not None
    ]
    assert len(measured) == 3
    page.set_viewport_size(DESKTOP)
    sign_in(page, live_server, next_path=f"/curate/characters/{mira.pk}/")
    points = page.locator("svg.drift circle")
    expect(points).to_have_count(3)
    page.locator("#drift").scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "25-drift-chart.png"))
    points.first.click()
    expect(page).to_have_url(re.compile(rf"/curate/reports/{measured[0].pk}/$"))


def _too_wide(page) -> list[str]:
    """The innermost elements that stick out to the right (for the failure message)."""
    return page.evaluate(
        """() => Array.from(document.querySelectorAll('body *')).filter(e => {
            const r = e.getBoundingClientRect();
            return r.right > innerWidth + 1 && !Array.from(e.children).some(
                c => c.getBoundingClientRect().right > innerWidth + 1);
        }).slice(0, 5).map(e => e.tagName + '.' + e.className + ' ' +
            Math.round(e.getBoundingClientRect().right))"""
    )


SIZES = {"desktop": DESKTOP, "phone": {"width": 390, "height": 844}}


@pytest.mark.parametrize("size", sorted(SIZES))
def test_screenshots_of_every_page(
    browser, live_server, api, ready, account, curator, size
):
    """Every curator page at 1280×720 and 390×844, saved under test-artifacts/, with
    nothing wider than the viewport (the navigation and the review bar fit)."""
    generate_held(
        api, ready, categories=["wardrobe", "prop", "place", "scene"], count=2
    )
    ids = held_asset_ids()
    mira = Character.objects.get(slug="mira")
    probe = api.post(
        "/v1/characters/mira/image-probe",
        {"probe_type": "identity_selfie", "session_id": ready["session_id"]},
        format="json",
    ).json()["data"]
    report_id = probe.get("id") or probe.get("probe_id")
    ARTIFACTS.mkdir(exist_ok=True)
    context = browser.new_context(viewport=SIZES[size])
    page = context.new_page()
    sign_in(page, live_server, next_path="/curate/review/")
    page.keyboard.press("a")
    page.keyboard.press("1")
    pages = {
        "characters": "/curate/",
        "character": f"/curate/characters/{mira.pk}/",
        "assets": f"/curate/characters/{mira.pk}/assets/",
        "asset": f"/curate/assets/{ids[0]}/",
        "review": "/curate/review/",
        "stats": "/curate/review/stats/",
        "reports": "/curate/reports/",
        "report": f"/curate/reports/{report_id}/",
        "not-found": "/curate/no-such-page",
    }
    for name, path in pages.items():
        page.goto(f"{live_server.url}{path}")
        page.wait_for_load_state("networkidle")
        page.screenshot(path=str(ARTIFACTS / f"page-{name}-{size}.png"))
        wide = page.evaluate("document.documentElement.scrollWidth")
        assert wide <= SIZES[size]["width"], (name, wide, _too_wide(page))
        # Nor does a long value (an env var name in a reason) run out of its card.
        spill = page.evaluate(
            "Math.max(0, ...Array.from(document.querySelectorAll('.facts'),"
            " e => e.scrollWidth - e.clientWidth))"
        )
        assert spill <= 1, (name, spill)
    context.close()


def test_admin_changelists_fit_1280(browser, live_server, api, ready):
    """The admin's changelists at 1280 px: no sideways scrolling (fewer columns)."""
    generate_held(api, ready, categories=["wardrobe", "prop"])
    make_user("ada", curator=False, superuser=True)
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    page.goto(f"{live_server.url}/admin/login/?next=/admin/")
    page.get_by_label("Username").fill("ada")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    for name in (
        "visuals/visualasset",
        "visuals/imagerequest",
        "characters/character",
        "characters/apikey",
        "characters/account",
        "characters/session",
    ):
        page.goto(f"{live_server.url}/admin/{name}/")
        expect(page.locator("#result_list")).to_be_visible()
        page.screenshot(path=str(ARTIFACTS / f"admin-{name.replace('/', '-')}.png"))
        wide = page.evaluate("document.documentElement.scrollWidth")
        assert wide <= DESKTOP["width"], (name, wide, _too_wide(page))
        # The results table itself is not cut off inside its scrolling box either.
        hidden = page.evaluate(
            "(() => { const r = document.querySelector('#changelist .results');"
            " return r.scrollWidth - r.clientWidth; })()"
        )
        assert hidden <= 1, (name, hidden)
    context.close()
