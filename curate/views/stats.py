"""Review statistics: decisions per curator per day, approval rates by category and
by generator, the median time a decision takes."""

from django.shortcuts import render

from .. import selectors
from ..access import curator_required

DAYS = 14


@curator_required
def review_stats(request):
    stats = selectors.review_stats(request.user, days=DAYS)
    return render(
        request, "curate/review_stats.html", {**stats, "days": DAYS, "nav": "stats"}
    )
