"""What a tool reports its call cost: :class:`Cost`.

A tool whose price is known only after the call (an LLM call billed by tokens, an API
billed by rows) returns ``Cost(result, amount=…)`` or ``Cost(result, input_tokens=…,
output_tokens=…)``; the agent receives ``result``. The policy's ``cost:`` is the
*estimate* reserved against budgets before the call; the reported cost replaces it when
the call has run, booked in full even past a budget, so the next call is refused.

    @guard.tool()
    def summarise(text: str) -> Cost:
        reply = llm.complete(text)
        return Cost(reply.text, input_tokens=reply.usage.input, output_tokens=reply.usage.output)

Tokens are priced by the tool's ``price:`` in the policy
(``price: {input_token: 0.000003, output_token: 0.000015}``, dollars per token).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from agentguard.store.base import MAX_AMOUNT

_log = logging.getLogger("agentguard.cost")


@dataclass(frozen=True, slots=True)
class Cost:
    """A tool's result with what the call cost: ``amount`` in dollars, or tokens that the
    policy's ``price:`` turns into dollars (when both are given, ``amount`` wins)."""

    result: Any = None
    amount: Decimal | int | str | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None


@dataclass(frozen=True, slots=True)
class Booked:
    """The dollars booked for a call, and where the figure came from."""

    amount: Decimal | None
    #: ``policy`` (the tool's cost:), ``reported`` (Cost.amount), ``tokens`` (priced), or
    #: ``policy (…)`` saying why a report could not be used
    source: str


def book(reported: Cost | None, estimate: Decimal | None, price: Any | None) -> Booked:
    """The cost to book for a call that ran. A report that cannot be used (not a finite
    amount from 0 to a billion dollars; tokens without a ``price:``) books the policy's
    estimate, and says why."""
    if reported is None:
        return Booked(estimate, "policy")
    if reported.amount is not None:
        amount = _amount(reported.amount)
        if amount is None:
            return _fallback(estimate, "the reported amount is not a finite number of dollars")
        return Booked(amount, "reported")
    if reported.input_tokens is None and reported.output_tokens is None:
        return Booked(estimate, "policy")
    if price is None:
        return _fallback(estimate, "tokens were reported, but the tool has no price:")
    total = Decimal(0)
    for tokens, per in (
        (reported.input_tokens, price.input_token),
        (reported.output_tokens, price.output_token),
    ):
        if tokens is None:
            continue
        if isinstance(tokens, bool) or not isinstance(tokens, int) or tokens < 0:
            return _fallback(estimate, "a reported token count is not a whole number")
        if tokens and per is None:
            return _fallback(estimate, "the tool's price: does not price these tokens")
        total += Decimal(tokens) * (per or Decimal(0))
    if total > MAX_AMOUNT:
        return _fallback(estimate, "the priced tokens come to more than a billion dollars")
    return Booked(total, "tokens")


def _amount(value: Any) -> Decimal | None:
    if isinstance(value, bool):
        return None
    try:
        amount = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        return None
    if not amount.is_finite() or amount < 0 or amount > MAX_AMOUNT:
        return None
    return amount


def _fallback(estimate: Decimal | None, why: str) -> Booked:
    _log.warning("a tool's reported cost was not used: %s", why)
    return Booked(estimate, f"policy ({why})")
