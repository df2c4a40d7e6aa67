"""Judge accuracy: the face measure over every same-person and different-person pair of
the face corpus (benchmarks/judge_eval.py, also `make judge-eval`), with the configured
bands. Targets: 0 different-person pairs passed; ≥ 90 % same-person pairs not failed.
Runs in-process (no server, no database)."""

from ..judge_eval import (
    DIFFERENT,
    MAX_DIFFERENT_PASSED,
    MIN_SAME_NOT_FAILED,
    SAME,
    evaluate,
)
from ..results import Row, Scenario

TITLE = "Judge accuracy on the face corpus"


def run(ctx) -> Scenario:
    result = evaluate()
    sc = Scenario(
        "judge_eval",
        TITLE,
        f"in-process; bands passed < {result.low:.2f}, failed ≥ {result.high:.2f}",
    )
    for name in (SAME, DIFFERENT):
        kind = result.kinds[name]
        for status in ("passed", "manual_required", "failed"):
            sc.add(
                Row(
                    f"{name} pairs {status} ({len(kind.pairs)} pairs)",
                    kind.rate(status) * 100,
                    "%",
                    "",
                    None,
                    detail={"pairs": [p[:3] for p in kind.pairs if p[3] == status]},
                )
            )
    sc.add(
        Row(
            "different-person pairs passed",
            result.different_passed,
            "pairs",
            f"≤ {MAX_DIFFERENT_PASSED}",
            result.different_passed <= MAX_DIFFERENT_PASSED,
        )
    )
    sc.add(
        Row(
            "same-person pairs not failed",
            result.same_not_failed * 100,
            "%",
            f"≥ {MIN_SAME_NOT_FAILED:.0%}",
            result.same_not_failed >= MIN_SAME_NOT_FAILED,
        )
    )
    if result.missing_faces:
        sc.notes.append(f"no face detected in: {', '.join(result.missing_faces)}")
    return sc
