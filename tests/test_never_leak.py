"""Secrets and PII never reach the audit database, logs, errors or CLI output in clear.

hypothesis generates realistic credentials and personal data (see ``leakgen``) and puts
each one, alone or inside ordinary text, where a call carries data: the arguments of an
allowed call and of a denied call, the tool's result, the exception the tool raises, audit
metadata, mapping keys, a card number written as a number, and content that a detector
rule blocks, redacts, holds or withholds. Every example runs on its own SQLite file, then
looks for the clear value (as written, JSON-escaped and repr-escaped) in every sink:

* the raw bytes of the database and its ``-wal`` and ``-shm`` files, before and after the
  guard closes, and every row of every table;
* every log record of every logger at DEBUG, and every warning;
* ``str()``, ``repr()`` and the reasons of every exception agentguard raised (the tool's
  own exception is re-raised to the caller unchanged: it is the caller's, and not searched);
* ``agentguard audit tail --json``, ``audit search --json``, ``audit export --format
  jsonl`` and the ``audit tail`` / ``audit search`` tables.

A harmless marker written beside the value must reach the audit log, so a run that
redacts everything or records nothing fails; ``audit verify`` must pass.

The file closes with the leaks this suite found and that were fixed (a token used as a
mapping key echoed by a denial; a subject given as an email address), kept as regression
tests, and realistic shapes the detectors once missed: those fixed (CLOSED_GAPS) as
passing tests, any still missed as strict xfails, each a minimal reproduction.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import sqlite3
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from tests import leakgen
from tests.leakgen import Placed, Sensitive
from typer.testing import CliRunner

from agentguard import (
    AccessDenied,
    AgentGuardError,
    AgentStopped,
    Denied,
    Guard,
    InvalidInput,
    Unauthenticated,
)
from agentguard.cli import starter_policy_text
from agentguard.cli_audit import audit_app
from agentguard.policy import LoadedPolicy, parse_policy
from agentguard.store import AuditQuery

#: the starter policy (as the ``starter`` fixture parses it), once for every example
STARTER = parse_policy(starter_policy_text(), source="policy.yaml")
EXAMPLES = settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)

#: a tool that takes and returns free-form JSON (the starter policy's tools take strings)
RECORDS_POLICY = """\
version: 1
tools:
  save_record:
    risk: low
roles:
  records:
    allow: [save_record]
agents:
  records_agent: {roles: [records], owner: data-team}
"""
RECORDS = parse_policy(RECORDS_POLICY, source="records.yaml")

#: the audit reads of the CLI; each must print no clear value
CLI_READS: tuple[tuple[str, ...], ...] = (
    ("audit", "tail", "--json", "-n", "1000"),
    ("audit", "search", "--json"),
    ("audit", "export", "--format", "jsonl"),
    ("audit", "tail"),
    ("audit", "search", "--decision", "deny"),
)
#: ``agentguard audit`` (typer's runner; click is not a dependency of typer any more). Its
#: own app rather than the whole ``agentguard`` command: typer builds the command tree again
#: on every invocation, and for the whole command that took ~90% of this suite's time
CLI = audit_app
DB = "audit.db"
RECIPIENT = "billing@corp-mail.net"


# ------------------------------------------------------------------------------ sinks


def forms(needle: str) -> set[str]:
    """The ways a value is written in a sink: as is, JSON-escaped and repr-escaped."""
    written = {
        needle,
        json.dumps(needle)[1:-1],
        json.dumps(needle, ensure_ascii=False)[1:-1],
        repr(needle)[1:-1],
    }
    return {form for form in written if len(form) >= 6}


@contextmanager
def every_log_record() -> Iterator[list[logging.LogRecord]]:
    """Every record of every logger at DEBUG and above, loggers that do not propagate too."""
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    handler = Keep(logging.DEBUG)
    root = logging.getLogger()
    loggers = [root] + [
        lg for lg in logging.Logger.manager.loggerDict.values() if isinstance(lg, logging.Logger)
    ]
    saved = [(lg, lg.level, lg.disabled) for lg in loggers]
    disabled_below = logging.root.manager.disable
    logging.disable(logging.NOTSET)
    for lg in loggers:
        lg.setLevel(logging.DEBUG)
        lg.disabled = False
        if lg is root or not lg.propagate:
            lg.addHandler(handler)
    try:
        yield records
    finally:
        for lg, level, disabled in saved:
            lg.setLevel(level)
            lg.disabled = disabled
            lg.removeHandler(handler)
        logging.disable(disabled_below)


def _log_text(record: logging.LogRecord) -> str:
    return logging.Formatter().format(record) + "\n" + repr(record.__dict__)


@dataclass
class Harness:
    """One guard on its own SQLite file, with every sink it can write to."""

    guard: Guard
    folder: Path
    logs: list[logging.LogRecord]
    caught_warnings: list[warnings.WarningMessage]
    raised: list[AgentGuardError] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"sqlite:///{self.folder / DB}"

    def attempt(self, call: Callable[[], object]) -> None:
        """Run ``call``, which access control allows; content rules of the policy may still
        block, hold or withhold it (the starter policy has some): keep such an error."""
        try:
            call()
        except Denied as exc:
            self.raised.append(exc)
        event(f"outcome: {type(self.raised[-1]).__name__ if self.raised else 'ran'}")

    def refused(self, call: Callable[[], object]) -> Denied:
        """Run ``call``, which the guard must refuse; keep the error for the sink check."""
        with pytest.raises(Denied) as info:
            call()
        self.raised.append(info.value)
        return info.value

    def files(self) -> bytes:
        return b"".join(path.read_bytes() for path in sorted(self.folder.glob(f"{DB}*")))

    def tables(self) -> str:
        uri = f"file:{self.folder / DB}?mode=ro"
        with closing(sqlite3.connect(uri, uri=True)) as db:
            names = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
            rows = [repr(row) for name in names for row in db.execute(f'SELECT * FROM "{name}"')]
        return "\n".join(rows)

    def check(self, placed: Sequence[Placed]) -> list[dict[str, Any]]:
        """Assert that no needle of ``placed`` is in any sink and that every marker is in
        the audit log; close the guard; return the audit records."""
        needles = sorted({f for p in placed for n in p.secret.needles for f in forms(n)})
        runner = CliRunner()
        sinks: dict[str, str | bytes] = {"database files (open)": self.files()}
        sinks["database tables"] = self.tables()
        for args in CLI_READS:
            assert args[0] == "audit"
            result = runner.invoke(CLI, [*args[1:], "--store", self.url], env={"COLUMNS": "250"})
            assert result.exit_code == 0 and result.exception is None, result.output
            sinks[" ".join(args)] = result.output + result.stderr
        verify = runner.invoke(CLI, ["verify", "--store", self.url])
        assert verify.exit_code == 0 and "hash chain intact" in verify.output, verify.output
        records = [r.data for r in self.guard.store.search(AuditQuery())]
        self.guard.close()
        sinks["database files (closed)"] = self.files()
        sinks["log records"] = "\n".join(_log_text(r) for r in self.logs)
        sinks["warnings"] = "\n".join(str(w.message) for w in self.caught_warnings)
        sinks["agentguard errors"] = "\n".join(
            f"{exc!s}\n{exc!r}\n{exc.message}\n{exc.args!r}\n"
            + repr([r.as_dict() for r in getattr(getattr(exc, "decision", None), "reasons", ())])
            for exc in self.raised
        )
        for sink, content in sinks.items():
            text = content.decode("utf-8", "replace") if isinstance(content, bytes) else content
            found = [n for n in needles if n in text]
            if found:
                at = text.index(found[0])
                context = text[max(0, at - 300) : at + len(found[0]) + 100]
                kinds = sorted({p.secret.kind for p in placed})
                pytest.fail(f"{kinds} in clear in {sink}: {found}\n…{context!r}…")
        audit_text = json.dumps(records, ensure_ascii=False)
        export = sinks["audit export --format jsonl"]
        for p in placed:
            assert p.marker in audit_text, f"marker {p.marker} missing from the audit log"
            assert isinstance(export, str) and p.marker in export
        return records


@contextmanager
def harness(tmp_path_factory: pytest.TempPathFactory, policy: LoadedPolicy) -> Iterator[Harness]:
    folder = tmp_path_factory.mktemp("leak")
    with every_log_record() as logs, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        guard = Guard(policy, f"sqlite:///{folder / DB}")
        try:
            yield Harness(guard, folder, logs, caught)
        finally:
            guard.close()


# ------------------------------------------------------------------------------ tools


@dataclass
class Behaviour:
    """What the registered tools do: return ``result`` or raise ``error``."""

    result: Any = None
    error: BaseException | None = None

    def __call__(self, default: Any) -> Any:
        if self.error is not None:
            raise self.error
        return default if self.result is None else self.result


def register(guard: Guard, behaviour: Behaviour, *names: str) -> None:
    """Register the tools ``names`` (of the starter policy, or ``save_record``), each doing
    what ``behaviour`` says. Only the tools a test calls: each one rebuilds the pipeline."""

    def send_email(to: str, subject: str, body: str) -> Any:
        return behaviour({"message_id": "msg_1", "status": "sent"})

    def read_inbox(folder: str = "inbox", limit: int = 20) -> Any:
        return behaviour(["hello"])

    def delete_email(message_id: str) -> Any:
        return behaviour(None)

    def read_transaction_history(customer_id: str) -> Any:
        return behaviour([{"id": "tx_1", "amount": "12.50"}])

    def process_refund(order_id: str, amount: Decimal, card_number: str = "") -> Any:
        # echoes the card number: a sensitive argument is cut out of results too
        return behaviour({"refund_id": f"rf_{order_id}", "note": f"refunded to {card_number}"})

    def save_record(record: dict[str, Any], tags: list[str] | None = None) -> Any:
        return behaviour({"saved": True})

    tools = (send_email, read_inbox, delete_email, read_transaction_history, process_refund)
    by_name = {tool.__name__: tool for tool in (*tools, save_record)}
    for name in names:
        guard.register(by_name[name])


def alone(value: Placed) -> bool:
    return value.marker not in value.text


def beside(value: Placed, default: str) -> str:
    """The marker, when the value stands alone (so it goes into a sibling field)."""
    return value.marker if alone(value) else default


# ------------------------------------------------------------------------------ tests


@EXAMPLES
@given(
    value=leakgen.placed(),
    target=st.sampled_from(["body", "subject", "recipient", "card_number", "nested"]),
    via=st.sampled_from(["call", "invoke", "acall"]),
)
def test_secret_in_allowed_call_arguments_reaches_no_sink(
    tmp_path_factory: pytest.TempPathFactory,
    value: Placed,
    target: str,
    via: str,
) -> None:
    """Access control allows the call; the policy's content rules may still block, redact
    or hold it. Whatever happens to it, the value is not kept in clear."""
    kind, text = value.secret.kind, value.text
    if target == "recipient" and not (kind == "email" and alone(value)):
        target = "body"
    if target == "card_number" and not (kind == "card" and alone(value)):
        target = "body"
    if target == "subject" and len(text) > 200:
        target = "body"
    if target == "nested":
        policy, agent_name, tool = RECORDS, "records_agent", "save_record"
        args: dict[str, Any] = {
            "record": {"customer": {"notes": [text, {"raw": text}]}, "source": "crm"},
            "tags": [beside(value, "vip")],
        }
    elif target == "card_number":
        policy, agent_name, tool = STARTER, "financial_agent", "process_refund"
        args = {"order_id": value.marker, "amount": Decimal("120"), "card_number": text}
    else:
        policy, agent_name, tool = STARTER, "email_agent", "send_email"
        args = {"to": RECIPIENT, "subject": "Re: your request", "body": "Hi"}
        args["to" if target == "recipient" else target] = text
        args["body" if target != "body" else "subject"] = beside(value, "Hi")
    with harness(tmp_path_factory, policy) as h:
        register(h.guard, Behaviour(), tool)
        agent = h.guard.agent(agent_name)
        if via == "call":
            h.attempt(lambda: agent.call(tool, **args))
        elif via == "invoke":
            h.attempt(lambda: agent.invoke(tool, args))
        else:
            h.attempt(lambda: asyncio.run(agent.acall(tool, **args)))
        [record] = h.check([value])
    assert "access.allowed" in {r["code"] for r in record["reasons"]}


#: how each denied call is refused
DENIALS: dict[str, type[Denied]] = {
    "no_role": AccessDenied,
    "condition_false": AccessDenied,
    "explicit_deny": AccessDenied,
    "invalid_recipient": InvalidInput,
    "too_long": InvalidInput,
    "unexpected_argument": InvalidInput,
    "wrong_type": InvalidInput,
    "too_deep": InvalidInput,
    "stopped": AgentStopped,
    "bad_api_key": Unauthenticated,
}


@EXAMPLES
@given(value=leakgen.placed(), denial=st.sampled_from(sorted(DENIALS)))
def test_secret_in_denied_call_arguments_reaches_no_sink(
    tmp_path_factory: pytest.TempPathFactory, value: Placed, denial: str
) -> None:
    text = value.text
    if denial == "condition_false" and len(text) > 64:  # order_id has maxLength 64
        denial = "no_role"
    if denial == "explicit_deny" and len(text) > 100:  # message_id has maxLength 100
        denial = "too_long"
    if denial == "invalid_recipient" and text.count("@") == 1:
        denial = "wrong_type"  # the schema's email format accepts anything with one "@"
    marker = beside(value, "Hello")
    email: dict[str, Any] = {"to": RECIPIENT, "subject": marker, "body": marker}
    # tools without a free-text argument carry a lone value's marker in the metadata
    note = {"note": value.marker} if alone(value) else {}
    with harness(tmp_path_factory, STARTER) as h:
        register(h.guard, Behaviour(), "send_email", "process_refund")
        finance, support = h.guard.agent("financial_agent"), h.guard.agent("email_agent")
        if denial == "no_role":
            h.refused(lambda: finance.call("send_email", **{**email, "body": text}))
        elif denial == "condition_false":
            refund = {"order_id": text, "amount": Decimal("750")}
            h.refused(lambda: finance.invoke("process_refund", refund, metadata=note))
        elif denial == "explicit_deny":
            h.refused(lambda: support.invoke("delete_email", {"message_id": text}, metadata=note))
        elif denial == "invalid_recipient":
            h.refused(lambda: support.call("send_email", **{**email, "to": text}))
        elif denial == "too_long":
            subject = f"{text} {' '.join(['padding'] * 40)}"
            h.refused(lambda: support.call("send_email", **{**email, "subject": subject}))
        elif denial == "unexpected_argument":
            h.refused(lambda: support.call("send_email", **email, cc=text))
        elif denial == "wrong_type":
            h.refused(lambda: support.call("send_email", **{**email, "body": {"text": text}}))
        elif denial == "too_deep":
            deep: Any = text
            for _ in range(40):
                deep = [deep]
            h.refused(lambda: support.call("send_email", **{**email, "body": deep}))
        elif denial == "stopped":
            h.guard.kill(agent="email_agent", reason="incident 7: mailbox compromised")
            h.refused(lambda: support.call("send_email", **{**email, "body": text}))
        else:  # a credential passed where an agentguard key belongs: never recorded
            keyed = h.guard.agent(api_key=text)
            h.refused(lambda: keyed.call("send_email", **{**email, "subject": value.marker}))
        assert type(h.raised[0]) is DENIALS[denial]
        records = h.check([value])
    assert records[-1]["decision"] == "deny"


class Note:
    """A result object the audit log records by its repr."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return f"Note(text={self.text!r})"


RESULT_SHAPES: dict[str, Callable[[str, str], Any]] = {
    "str": lambda text, marker: text,
    "nested": lambda text, marker: {
        "customer": {"id": "cust_42", "notes": [text, {"raw": text, "tag": marker}]},
        "page": 1,
    },
    "rows": lambda text, marker: [{"line": 1, "text": text}, {"line": 2, "text": marker}],
    "tuple": lambda text, marker: ("ok", text, marker),
    "object": lambda text, marker: Note(text),
    "bytes": lambda text, marker: text.encode(),
    "json_text": lambda text, marker: json.dumps({"data": text, "tag": marker}),
}


@EXAMPLES
@given(value=leakgen.placed(), shape=st.sampled_from(sorted(RESULT_SHAPES)))
def test_secret_in_tool_result_reaches_no_sink(
    tmp_path_factory: pytest.TempPathFactory, value: Placed, shape: str
) -> None:
    result = RESULT_SHAPES[shape](value.text, value.marker)
    with harness(tmp_path_factory, STARTER) as h:
        register(h.guard, Behaviour(result=result), "read_transaction_history")
        agent = h.guard.agent("financial_agent")
        h.attempt(lambda: agent.call("read_transaction_history", customer_id=value.marker))
        [record] = h.check([value])
    assert record["status"] in ("executed", "withheld") and record["output"] is not None


class UpstreamError(Exception):
    """An exception type of the caller's own, with its own message format."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail

    def __str__(self) -> str:
        return f"upstream said: {self.detail}"


ERRORS: dict[str, Callable[[str], BaseException]] = {
    "runtime": lambda text: RuntimeError(f"mail server rejected the message: {text}"),
    "plain": lambda text: ValueError(text),
    "two_args": lambda text: ValueError("bad payload", text),
    "key": lambda text: KeyError(text),
    "os": lambda text: PermissionError(13, text),
    "custom": UpstreamError,
}


@EXAMPLES
@given(value=leakgen.placed(), error=st.sampled_from(sorted(ERRORS)))
def test_secret_in_tool_exception_is_redacted_in_the_audit_record(
    tmp_path_factory: pytest.TempPathFactory, value: Placed, error: str
) -> None:
    raised = ERRORS[error](value.text)
    with harness(tmp_path_factory, STARTER) as h:
        register(h.guard, Behaviour(error=raised), "send_email")
        agent = h.guard.agent("email_agent")
        with pytest.raises(type(raised)) as info:
            agent.call("send_email", to=RECIPIENT, subject=beside(value, "Hello"), body="Hi")
        assert info.value is raised  # the caller's own exception, re-raised unchanged
        [record] = h.check([value])
    assert record["status"] == "failed"
    assert record["error"].startswith(f"{type(raised).__name__}: ")


@EXAMPLES
@given(value=leakgen.placed(), allowed=st.booleans())
def test_secret_in_audit_metadata_reaches_no_sink(
    tmp_path_factory: pytest.TempPathFactory, value: Placed, allowed: bool
) -> None:
    metadata = {
        "confidence_score": 0.87,
        "reasoning": value.text,
        "trace": {"steps": [value.marker, {"observation": value.text}]},
    }
    with harness(tmp_path_factory, STARTER) as h:
        register(h.guard, Behaviour(), "read_inbox")
        agent = h.guard.agent("email_agent")
        if allowed:
            agent.invoke("read_inbox", {"folder": "inbox"}, metadata=metadata)
        else:
            h.refused(lambda: agent.invoke("delete_email", {"message_id": "m1"}, metadata=metadata))
        [record] = h.check([value])
    assert record["metadata"]["confidence_score"] == 0.87


@EXAMPLES
@given(value=leakgen.sensitive(), where=st.sampled_from(["arguments", "result", "metadata"]))
def test_secret_as_mapping_key_reaches_no_sink(
    tmp_path_factory: pytest.TempPathFactory, value: Sensitive, where: str
) -> None:
    placed = Placed(value.text, value, leakgen.marker_word(random.Random(value.text)))
    keyed = {value.text: {"seen": True}, placed.marker: {"seen": True}}  # an index by value
    with harness(tmp_path_factory, RECORDS) as h:
        register(h.guard, Behaviour(result=keyed if where == "result" else None), "save_record")
        args = {"record": keyed if where == "arguments" else {"source": "crm"}}
        metadata = keyed if where == "metadata" else None
        h.guard.agent("records_agent").invoke("save_record", args, metadata=metadata)
        [record] = h.check([placed])
    assert record["status"] == "executed"


@EXAMPLES
@given(value=leakgen.sensitive(["card"]), where=st.sampled_from(["arguments", "result"]))
def test_card_number_written_as_a_number_reaches_no_sink(
    tmp_path_factory: pytest.TempPathFactory, value: Sensitive, where: str
) -> None:
    number = int(value.needles[-1])  # the digits alone
    placed = Placed(value.text, value, leakgen.marker_word(random.Random(number)))
    row = {"card": number, "holder_note": placed.marker}
    with harness(tmp_path_factory, RECORDS) as h:
        register(h.guard, Behaviour(result=[row] if where == "result" else None), "save_record")
        args = {"record": row if where == "arguments" else {"source": "crm"}}
        h.guard.agent("records_agent").invoke("save_record", args)
        h.check([placed])


#: detector rules on outbound fields and on results, with the action under test
CONTENT_POLICY = """\
version: 1
tools:
  send_message:
    risk: medium
    input:
      to: {{type: string, maxLength: 200}}
      body: {{type: string, maxLength: 20000}}
    outbound: [body]
  fetch_profile:
    risk: low
    input:
      customer_id: {{type: string, maxLength: 64}}
roles:
  helper:
    allow: [send_message, fetch_profile]
agents:
  support_agent: {{roles: [helper], owner: support-team}}
detectors:
  rules:
    - scan: outbound
      detectors: [secrets, pii]
      action: {outbound}
    - scan: results
      detectors: [secrets, pii]
      action: {results}
"""


@EXAMPLES
@given(
    value=leakgen.placed(),
    outbound=st.sampled_from(["block", "redact", "flag_for_review", "stop_agent"]),
    results=st.sampled_from(["block", "redact"]),
    scanned=st.sampled_from(["outbound", "results"]),
)
def test_secret_caught_by_a_content_rule_reaches_no_sink(
    tmp_path_factory: pytest.TempPathFactory,
    value: Placed,
    outbound: str,
    results: str,
    scanned: str,
) -> None:
    policy = parse_policy(
        CONTENT_POLICY.format(outbound=outbound, results=results), source="content.yaml"
    )
    with harness(tmp_path_factory, policy) as h:

        @h.guard.tool()
        def send_message(to: str, body: str) -> dict[str, str]:
            return {"status": "sent"}

        @h.guard.tool()
        def fetch_profile(customer_id: str) -> dict[str, Any]:
            return {"customer_id": customer_id, "notes": [value.text]}

        agent = h.guard.agent("support_agent")
        try:
            if scanned == "outbound":
                agent.call("send_message", to=beside(value, "team"), body=value.text)
            else:
                agent.call("fetch_profile", customer_id=beside(value, "cust_42"))
        except Denied as exc:  # blocked, held, stopped or withheld: each is agentguard's
            h.raised.append(exc)
        event(f"{scanned}: {type(h.raised[0]).__name__ if h.raised else 'delivered'}")
        h.check([value])


# ------------------------------------------- leaks found by this suite, and detector gaps


def _token_keys() -> dict[str, str]:
    rng = random.Random(7)
    return {
        "github": "ghp_" + leakgen.rand(rng, leakgen.ALNUM, 36),
        "stripe": "sk_live_" + leakgen.rand(rng, leakgen.ALNUM, 24),
        "aws": "AKIA" + leakgen.rand(rng, leakgen.BASE32, 16),
        "npm": "npm_" + leakgen.rand(rng, leakgen.ALNUM, 36),
    }


@pytest.mark.parametrize("kind", sorted(_token_keys()))
def test_secret_as_mapping_key_is_not_echoed_when_the_call_is_denied(
    tmp_path_factory: pytest.TempPathFactory, kind: str
) -> None:
    token = _token_keys()[kind]
    value = Placed(token, Sensitive(kind, token, (token,)), "canary-keyecho")
    with harness(tmp_path_factory, RECORDS) as h:

        @h.guard.tool()
        def save_record(record: dict[str, int], tags: list[str] | None = None) -> None:
            """Counts per key: a text value is refused by the binding."""

        agent = h.guard.agent("records_agent")
        args = {"record": {token: "not a number"}, "tags": [value.marker]}
        h.refused(lambda: agent.invoke("save_record", args))
        h.check([value])


def _detector_gaps() -> dict[str, tuple[str, str]]:
    """Realistic shapes the detectors miss at the audit's threshold (0.3), so they reach the
    audit log in clear: ``{case: (text, the part that leaks)}``. leakgen does not generate
    them (its notes say where); each is kept here as a failing reproduction. Values are
    built at run time so that no file holds a full credential."""
    rng = random.Random(20261128)
    pw = leakgen.rand(rng, leakgen.ALNUM, 14, classes=(leakgen.LOWER, "ABCDEFGHKLMN", "0123"))
    token = leakgen.rand(rng, leakgen.ALNUM, 32)
    github = "ghp_" + leakgen.rand(rng, leakgen.ALNUM, 36)
    header = leakgen.jwt_part({"alg": "HS256", "typ": "JWT"})
    claims = leakgen.jwt_part({"sub": leakgen.rand(rng, leakgen.ALNUM, 10), "iat": 1705093256})
    jwt = f"{header}.{claims}.{token[:20]}xXxX{token[20:]}"
    card = leakgen.luhn_complete("4" + "".join(rng.choice("0123456789") for _ in range(14)))
    user = leakgen.rand(rng, leakgen.LOWER, 6)
    return {
        "url password starting with an escaped symbol": (
            f"postgres://app:%23{pw}@db:5432/orders",
            f"%23{pw}",
        ),
        "url password starting with a dollar sign": (f"redis://:${pw}@cache:6379/0", f"${pw}"),
        "unquoted password starting with a symbol": (f"DB_PASSWORD=!{pw}", f"!{pw}"),
        "unquoted password with a comma": (f"password={pw[:3]},{pw[3:]}", f"{pw[:3]},{pw[3:]}"),
        "unquoted password with a parenthesis": (
            f"password={pw[:5]}({pw[5:]}",
            f"{pw[:5]}({pw[5:]}",
        ),
        "password shaped like a dotted name": (f"password=K{pw}.gQ", f"K{pw}.gQ"),
        "password with an equals sign after a colon": (
            f"POSTGRES_PASSWORD: K{pw[:9]}={pw[9:]}",
            f"K{pw[:9]}",
        ),
        "password after --password": (f"mysql -u root --password {pw} -h db", pw),
        "password glued to -p": (f"mysql -u root -p{pw} -h db", pw),
        "token whose random part spells a placeholder": (
            f"GITHUB_TOKEN=ghp_{token[:10]}fAkE{token[10:32]}",
            f"ghp_{token[:10]}fAkE{token[10:32]}",
        ),
        "jwt whose signature spells a placeholder": (f"Authorization: Bearer {jwt}", jwt),
        "card number in a csv row": (f"name,card,expiry\nAna Lopez,{card},12/27", card),
        "internationalised email address": (
            f"write to josé.{user}@bücher.de today",
            f"josé.{user}@bücher.de",
        ),
        "token glued to a word by an invisible character": (f"my token\u200b{github}", github),
        "password after sshpass -p": (f"sshpass -p {pw} ssh deploy@db", pw),
        "password in curl -u": (f"curl -u admin:{pw} https://api.internal/v1", pw),
        "password after pw in prose": (f"log in as admin, pw {pw}", pw),
    }


_SHAPES = _detector_gaps()
#: shapes the detectors used to miss and now find: each stays as a passing test
CLOSED_GAPS = frozenset(
    (
        "url password starting with an escaped symbol",
        "url password starting with a dollar sign",
        "token whose random part spells a placeholder",
        "jwt whose signature spells a placeholder",
        "unquoted password starting with a symbol",
        "unquoted password with a comma",
        "unquoted password with a parenthesis",
        "password shaped like a dotted name",
        "password with an equals sign after a colon",
        "password after --password",
        "password glued to -p",
        "token glued to a word by an invisible character",
        "card number in a csv row",
        "internationalised email address",
        "password after sshpass -p",
        "password in curl -u",
        "password after pw in prose",
    )
)
assert _SHAPES.keys() >= CLOSED_GAPS, CLOSED_GAPS - _SHAPES.keys()
#: a shape still open is a strict xfail: finding it later turns the run red until it moves
#: to CLOSED_GAPS, where it stays as a passing test
_GAP = pytest.mark.xfail(
    strict=True,
    reason="detector gap: the built-in detectors do not find the value at score >= 0.3, "
    "so the audit log keeps it in clear; the fix belongs in agentguard/detect/",
)


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        pytest.param(*shape, id=case, marks=() if case in CLOSED_GAPS else (_GAP,))
        for case, shape in _SHAPES.items()
    ],
)
def test_detector_gap_shape_never_reaches_the_audit_log(
    tmp_path_factory: pytest.TempPathFactory, text: str, needle: str
) -> None:
    value = Placed(text, Sensitive("gap", text, (needle,)), "canary-detectorgap")
    with harness(tmp_path_factory, RECORDS) as h:
        register(h.guard, Behaviour(), "save_record")
        args = {"record": {"note": text}, "tags": [value.marker]}
        h.guard.agent("records_agent").invoke("save_record", args)
        h.check([value])


def test_subject_given_as_an_email_address_is_not_recorded_in_clear(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    rng = random.Random(11)
    address = (
        f"{leakgen.rand(rng, leakgen.LOWER, 5)}.{leakgen.rand(rng, leakgen.LOWER, 7)}@gmail.com"
    )
    value = Placed(address, Sensitive("email", address, (address,)), "canary-subject")
    with harness(tmp_path_factory, STARTER) as h:
        register(h.guard, Behaviour(), "read_inbox")
        agent = h.guard.agent("email_agent", subject=address)
        agent.invoke("read_inbox", {"folder": value.marker})
        h.check([value])
