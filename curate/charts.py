"""Server-rendered charts (plain SVG geometry; the templates draw it, no library)."""

from dataclasses import dataclass

WIDTH, HEIGHT = 720, 240
LEFT, RIGHT, TOP, BOTTOM = 44, 12, 12, 28


@dataclass
class Point:
    x: float
    y: float
    status: str
    distance: float
    at: object
    request_id: str
    label: str


def drift_chart(rows, *, pass_at: float, fail_at: float) -> dict:
    """Identity distance over time: one point per generated image, the pass and fail
    bands as rectangles. `rows` are (request id, created_at, distance, status, label)
    oldest first."""
    rows = [r for r in rows if r[2] is not None]
    top = max([fail_at * 1.25, *(float(r[2]) for r in rows)] or [1.0])
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def y_of(distance: float) -> float:
        return round(TOP + plot_h * (1 - min(distance, top) / top), 1)

    points = []
    if rows:
        first, last = rows[0][1], rows[-1][1]
        span = (last - first).total_seconds() or 1.0
        for request_id, at, distance, status, label in rows:
            share = (at - first).total_seconds() / span if len(rows) > 1 else 0.5
            points.append(
                Point(
                    x=round(LEFT + plot_w * share, 1),
                    y=y_of(float(distance)),
                    status=status or "none",
                    distance=round(float(distance), 4),
                    at=at,
                    request_id=str(request_id),
                    label=label,
                )
            )
    ticks = [round(top * i / 4, 2) for i in range(5)]
    return {
        "width": WIDTH,
        "height": HEIGHT,
        "left": LEFT,
        "right": WIDTH - RIGHT,
        "top": TOP,
        "bottom": HEIGHT - BOTTOM,
        "plot_w": plot_w,
        # Lower distance is closer to the identity: passed below pass_at, failed above.
        "pass_y": y_of(pass_at),
        "fail_y": y_of(fail_at),
        "pass_at": pass_at,
        "fail_at": fail_at,
        "pass_h": round(HEIGHT - BOTTOM - y_of(pass_at), 1),
        "fail_h": round(y_of(fail_at) - TOP, 1),
        "ticks": [{"value": t, "y": y_of(t)} for t in ticks],
        "points": points,
        "first": rows[0][1] if rows else None,
        "last": rows[-1][1] if rows else None,
    }
