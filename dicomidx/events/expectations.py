"""`--expect OUTCOME[:REASON]`: what a CI run says every event must come to."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from dicomidx.errors import UsageError
from dicomidx.events.outcome import OUTCOME_OF, Outcome, Reason, Verdict


@dataclass(frozen=True)
class Expectation:
    outcome: Outcome
    reason: Reason | None = None

    @classmethod
    def parse(cls, text: str) -> Expectation:
        outcome_text, _, reason_text = text.partition(":")
        try:
            outcome = Outcome(outcome_text)
        except ValueError:
            raise UsageError(
                f"--expect {text!r}: unknown outcome {outcome_text!r}",
                hint=f"outcomes: {', '.join(o.value for o in Outcome)}",
            ) from None
        if not reason_text:
            return cls(outcome)

        try:
            reason = Reason(reason_text)
        except ValueError:
            reason = None
        if reason is None or OUTCOME_OF[reason] is not outcome:
            known = [r.value for r, o in OUTCOME_OF.items() if o is outcome]
            raise UsageError(
                f"--expect {text!r}: {reason_text!r} is not a reason for {outcome.value}",
                hint=f"reasons for {outcome.value}: {', '.join(known)}",
            )
        return cls(outcome, reason)

    def met_by(self, verdict: Verdict) -> bool:
        if verdict.outcome is not self.outcome:
            return False
        return self.reason is None or verdict.reason is self.reason

    def __str__(self) -> str:
        return self.outcome.value + (f":{self.reason.value}" if self.reason else "")


def meets_any(verdict: Verdict, expectations: Iterable[Expectation]) -> bool:
    return any(expectation.met_by(verdict) for expectation in expectations)
