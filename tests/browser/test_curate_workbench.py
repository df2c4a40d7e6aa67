"""The curator workbench (issue 17) in a real browser: the dense grid and the focus
view, a keyboard-only review of a held 8-image batch (presets, bulk shortcuts, undo),
two curators deciding the same candidate at once."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.test_curate_browser import sign_in
from tests.curate_helpers import generate_held, held_asset_ids, make_user
from visuals.models import AssetDecision, VisualAsset

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
    expect(page.locator("#focus-checks li").first).to_contain_text("Face distance")
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
    shot(cora, "23-two-curators-refused")
    asset = VisualAsset.objects.get(pk=asset_id)
    assert (asset.asset_status, asset.decided_by.username) == ("rejected", "otto")
    cora.context.close()
    otto.context.close()
