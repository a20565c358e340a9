"""The documented outcome of every corpus event, through the same path validate-events uses."""

from __future__ import annotations

import pytest

from dicomidx.events.decode import decode_message, parse_event
from dicomidx.events.filter import EventFilter, recommended_filter
from dicomidx.events.rules import decide
from tests.events.corpus import CASES, SETTINGS, UNFILTERED, Case


def _decide(case: Case, event_filter: EventFilter) -> tuple[str, str]:
    item = decode_message(case.event) if case.messages else parse_event(case.event)
    verdict = decide(item, SETTINGS, event_filter)
    return verdict.outcome.value, verdict.reason.value


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_the_recommended_filter_and_the_service_rules_give_the_documented_outcome(
    case: Case,
) -> None:
    assert _decide(case, recommended_filter(SETTINGS)) == (case.outcome, case.reason)


@pytest.mark.parametrize("case", UNFILTERED, ids=lambda case: case.name)
def test_without_a_filter_the_service_rules_decide_in_their_documented_order(case: Case) -> None:
    assert _decide(case, EventFilter()) == (case.outcome, case.reason)


def test_the_corpus_covers_every_reason_of_the_vocabulary() -> None:
    from dicomidx.events.outcome import Reason

    seen = {case.reason for case in CASES + UNFILTERED}
    assert seen == {reason.value for reason in Reason}
