"""The one clock seam: code that must be movable in time in tests reads ``clock.now()``.

Tests move time with ``monkeypatch.setattr(clock, "now", lambda: later)``; callers look
the function up on this module at call time, so one patch moves every reader.
"""

from django.utils import timezone


def now():
    return timezone.now()
