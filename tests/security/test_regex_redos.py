"""Also from the code's notes: a regex condition had no time limit (Python's ``re``).

The attack: ``(a+)+$`` against 50,000 ``a`` and a ``b`` backtracks for longer than the age of
the universe on ``re``. Conditions now run on RE2, linear in the text; patterns RE2 cannot run
in linear time (backreferences, lookarounds) are refused at validation with the reason.
"""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from reporunner.nodes.builtin._conditions import Condition, evaluate


def test_catastrophic_pattern_runs_in_linear_time() -> None:
    condition = Condition(field="text", operator="regex", compare=r"(a+)+$")
    # with Python's re this call would not return; RE2 answers at once
    assert evaluate(condition, {"text": "a" * 50_000 + "b"}) is False
    assert evaluate(condition, {"text": "a" * 50_000}) is True


def test_backreferences_are_refused_with_the_reason() -> None:
    with pytest.raises(ValidationError, match="no backreferences or lookarounds"):
        Condition(value="x", operator="regex", compare=r"(a)\1")
