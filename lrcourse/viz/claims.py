"""A claim is code: a chapter states a verdict together with the condition that makes it true.

    claims = Claims("01-gradient-descent")
    claims.check(threshold > local_limit, "the path self-stabilises beyond 2/λ at the minimum",
                 threshold=threshold, local_limit=local_limit)
    sentence = claims.choose(gap > spread, "decaying beats the best fixed rate",
                             "decaying does not beat the best fixed rate beyond seed noise",
                             gap=gap, spread=spread)

``check`` raises :class:`ClaimError` when the condition is false; the book build executes
chapters with ``allow_errors: false``, so a false claim fails the build, and the message names
the chapter, the claim and the numbers. ``choose`` is for verdicts that may go either way with
the data: it returns the sentence that is true (to be glued into the prose) and records it.
``claims.log`` lists every claim a chapter checked, in order (for the audit in tests).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

__all__ = ["ClaimError", "Claims"]


class ClaimError(AssertionError):
    """A sentence in a chapter says something its own numbers do not show."""


def _show(value) -> str:
    try:
        x = float(value)
    except (TypeError, ValueError):
        return repr(value)
    if math.isnan(x):
        return "nan"
    if x == int(x) and abs(x) < 1e15:
        return str(int(x))
    return f"{x:.4g}"


@dataclass
class Claims:
    """The claims of one chapter (``chapter`` names it in every error)."""

    chapter: str
    log: list = field(default_factory=list)

    def check(self, condition, claim: str, **numbers) -> str:
        """Fail the build unless ``condition`` holds; return ``claim`` (to glue, if wanted)."""
        ok = bool(condition)
        self.log.append((claim, ok, numbers))
        if not ok:
            shown = ", ".join(f"{k} = {_show(v)}" for k, v in numbers.items())
            raise ClaimError(f"{self.chapter}: the claim {claim!r} is false here"
                             + (f" ({shown})" if shown else ""))
        return claim

    def choose(self, condition, if_true: str, if_false: str, **numbers) -> str:
        """The sentence that the numbers support: ``if_true`` when ``condition`` holds."""
        sentence = if_true if bool(condition) else if_false
        self.log.append((sentence, True, numbers))
        return sentence
