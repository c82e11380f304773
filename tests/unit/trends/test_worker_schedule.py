"""When the trends worker evaluates the rules: on the timer whatever the feed's state, otherwise
only once caught up, and while changes keep coming no more often than the spacing allows."""

from trends_svc.worker import EVALUATION_SPACING_SECONDS, TIMER_SECONDS, evaluation_due

QUIET = EVALUATION_SPACING_SECONDS + 0.1  # seconds since the last evaluation: past the spacing


def test_new_changes_are_evaluated_once_caught_up():
    assert evaluation_due(since_last=QUIET, caught_up=True, woken=False, unevaluated=10)
    assert not evaluation_due(since_last=QUIET, caught_up=False, woken=False, unevaluated=10)


def test_a_request_to_evaluate_waits_for_the_catch_up_not_for_new_changes():
    assert evaluation_due(since_last=QUIET, caught_up=True, woken=True, unevaluated=0)
    assert not evaluation_due(since_last=QUIET, caught_up=False, woken=True, unevaluated=0)


def test_nothing_new_and_nobody_asking_means_no_evaluation_until_the_timer():
    assert not evaluation_due(since_last=QUIET, caught_up=True, woken=False, unevaluated=0)
    assert evaluation_due(since_last=TIMER_SECONDS, caught_up=True, woken=False, unevaluated=0)


def test_while_changes_keep_coming_evaluations_are_spaced():
    soon = EVALUATION_SPACING_SECONDS / 2
    assert not evaluation_due(since_last=soon, caught_up=True, woken=False, unevaluated=5000)
    assert not evaluation_due(since_last=soon, caught_up=True, woken=True, unevaluated=5000)


def test_the_timer_evaluates_what_is_projected_even_far_behind():
    assert evaluation_due(since_last=TIMER_SECONDS, caught_up=False, woken=False, unevaluated=0)
