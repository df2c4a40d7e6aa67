"""Issue 13: the judge's accuracy on the face corpus (what `make judge-eval` prints)."""

from benchmarks import judge_eval


def test_every_pair_of_the_corpus_meets_the_targets_with_the_default_bands():
    result = judge_eval.evaluate()
    same, different = (
        result.kinds[judge_eval.SAME],
        result.kinds[judge_eval.DIFFERENT],
    )
    assert result.missing_faces == []
    assert len(same.pairs) == 10 and len(different.pairs) == 11  # 5 + 1 + 1 photos
    assert result.different_passed == 0
    assert result.same_not_failed >= 0.9
    assert result.met
    text = judge_eval.report(result)
    assert "target: 0 different-person pairs passed — 0 (met)" in text


def test_bands_that_are_too_loose_miss_the_target(settings):
    settings.LOREOS_FACE_PASS_DISTANCE = 0.85
    settings.LOREOS_FACE_FAIL_DISTANCE = 0.95
    result = judge_eval.evaluate()
    assert result.different_passed > 0 and not result.met
    assert "(MISSED)" in judge_eval.report(result)
