"""The vision judge's client on its own: answers it accepts, answers it refuses, and
how long it waits before a retry (the API-level tests are in test_judge_checks.py)."""

import json
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest
from PIL import Image

from visuals.engine.vision import Ask, VisionJudge, data_url, parse, retry_after

ASKS = [
    Ask("forbidden_1", "forbidden", "a face tattoo"),
    Ask("keep_1", "keep", "glasses"),
]


def chat(content, refusal=None) -> httpx.Response:
    message = {"role": "assistant", "content": content, "refusal": refusal}
    return httpx.Response(200, json={"choices": [{"index": 0, "message": message}]})


def results(*items) -> str:
    return json.dumps({"results": list(items)})


def test_a_well_formed_answer_gives_every_check():
    outcome = parse(
        chat(
            results(
                {"id": "forbidden_1", "holds": False, "confidence": 0.9, "note": "ink"},
                {"id": "keep_1", "holds": True, "confidence": 1, "note": ""},
            )
        ),
        ASKS,
        "judge",
    )
    assert outcome.problem is None
    assert outcome.answers["forbidden_1"].holds is False
    assert outcome.answers["keep_1"].confidence == 1.0


def test_a_fenced_json_block_is_accepted():
    fenced = (
        "Here you go:\n```json\n"
        + results(
            {"id": "forbidden_1", "holds": True, "confidence": 0.8, "note": ""},
            {"id": "keep_1", "holds": True, "confidence": 0.8, "note": ""},
        )
        + "\n```"
    )
    assert parse(chat(fenced), ASKS, "judge").problem is None


@pytest.mark.parametrize(
    "item",
    [
        {"id": "keep_1", "holds": "yes", "confidence": 0.9},
        {"id": "keep_1", "holds": True, "confidence": 1.5},
        {"id": "keep_1", "holds": True, "confidence": True},
        {"id": "keep_1", "holds": True},
        {"id": "someone_else", "holds": True, "confidence": 0.9},
    ],
)
def test_an_unusable_item_leaves_its_check_unmade(item):
    good = {"id": "forbidden_1", "holds": True, "confidence": 0.9, "note": ""}
    outcome = parse(chat(results(good, item)), ASKS, "judge")
    assert set(outcome.answers) == {"forbidden_1"}
    assert outcome.problem == "judge gave no usable answer for keep_1"


@pytest.mark.parametrize(
    "response",
    [
        chat("no json here"),
        chat(json.dumps({"results": "all fine"})),
        chat(None),
        httpx.Response(200, text="<html>"),
        httpx.Response(200, json={"choices": []}),
    ],
)
def test_an_answer_that_does_not_parse_makes_no_check(response):
    outcome = parse(response, ASKS, "judge")
    assert outcome.answers == {} and outcome.problem


def test_a_refusal_makes_no_check_and_says_so():
    outcome = parse(chat(None, refusal="I can't help with that"), ASKS, "judge")
    assert outcome.answers == {} and "refused" in outcome.problem


def test_retry_after_reads_seconds_and_http_dates():
    assert retry_after(httpx.Response(429, headers={"Retry-After": "3"})) == 3.0
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=20), usegmt=True)
    waited = retry_after(httpx.Response(429, headers={"Retry-After": later}))
    assert 15 < waited <= 20
    assert retry_after(httpx.Response(429, headers={"Retry-After": "soon"})) is None
    assert retry_after(httpx.Response(429)) is None


def test_images_travel_as_bounded_jpeg_data_urls():
    url = data_url(Image.new("RGB", (3000, 1500), (10, 20, 30)))
    assert url.startswith("data:image/jpeg;base64,")
    import base64
    import io

    image = Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1])))
    assert image.size == (1024, 512)


def test_an_unreachable_judge_makes_no_check():
    judge = VisionJudge("http://127.0.0.1:9", "m", timeout=1, retries=0)
    outcome = judge.judge([Image.new("RGB", (8, 8))], ASKS)
    assert outcome.answers == {} and "could not be reached" in outcome.problem


def test_no_checks_means_no_call():
    judge = VisionJudge("http://127.0.0.1:9", "m", timeout=1, retries=0)
    assert judge.judge([Image.new("RGB", (8, 8))], []).problem is None


def test_retries_stop_at_twice_the_timeout(monkeypatch):
    calls = []

    def busy(request):
        calls.append(request)
        return httpx.Response(429, headers={"Retry-After": "5"})

    original = httpx.Client

    class Mocked(original):
        def __init__(self, **kwargs):
            super().__init__(transport=httpx.MockTransport(busy), **kwargs)

    monkeypatch.setattr(httpx, "Client", Mocked)
    judge = VisionJudge("http://judge.test/v1", "m", timeout=1, retries=3)
    outcome = judge.judge([Image.new("RGB", (8, 8))], ASKS)
    assert len(calls) == 1  # a 5 s wait would end past 2 s: not retried
    assert outcome.answers == {} and "HTTP 429" in outcome.problem
