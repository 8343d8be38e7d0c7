"""The A→B leak guard: customer A's data never goes out to customer B.

A tool that returns someone's data declares its owner (``owner: args.customer_id``). When
such a tool's result flows back to the agent, this layer fingerprints it (see
:mod:`agentguard.provenance`) in the store, under the action's session (or the agent, when
there is no session). When the agent later calls a tool with ``outbound`` fields, the
layer fingerprints those fields and asks the store whose data they carry. Data of an owner
other than the recipient's is a leak: the action is denied before it runs (or, with
``detectors.leaks.action: redact``, the other owner's passages and values are cut out).

Who the recipient belongs to: the tool's ``recipient_owner:`` expression; else the guard's
``owner_resolver`` (a function from a recipient such as an email address to an owner);
else (with no resolver) the action's ``subject``. A recipient whose owner is unknown — the
resolver returns ``None`` or raises — or several recipients of different owners may receive
no owned data at all (fail closed).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any

from agentguard.clock import Clock
from agentguard.detect.base import Detector
from agentguard.errors import ContentBlocked
from agentguard.layers.registry import LayerSpec, register
from agentguard.pipeline import CONTINUE, RESULT_OK, Action, Reason, ResultVerdict, Step, Verdict
from agentguard.policy import LoadedPolicy
from agentguard.policy.conditions import Condition, to_cel
from agentguard.provenance import UNKNOWN_OWNER, Fingerprinter, Leak, Located, assess
from agentguard.store.base import ProvenanceStore
from agentguard.values import Path, at_path, dotted, plain, replace_strings, strings

NAME = "leaks"
OwnerResolver = Callable[[str], str | None]
_PRINTABLE_OWNER = re.compile(r"^[A-Za-z][\w.:-]{0,63}$")
_LONG_NUMBER = re.compile(r"\d{6}")
WITHHELD = "[WITHHELD: another owner's data]"


class LeakLayer:
    """Fingerprints owned results; stops outbound content carrying another owner's data."""

    name = NAME

    def __init__(
        self,
        policy: LoadedPolicy,
        store: ProvenanceStore,
        clock: Clock,
        detectors: Callable[[], Sequence[Detector]],
        resolver: OwnerResolver | None = None,
    ) -> None:
        self._policy = policy
        self._store = store
        self._clock = clock
        self._detectors = detectors
        self._resolver = resolver
        self._settings = policy.model.detectors.leaks
        self._remember = timedelta(seconds=self._settings.remember.total_seconds())
        self._active = bool(policy.owners)
        self._fields = {
            name: tuple(spec.outbound) for name, spec in policy.model.tools.items() if spec.outbound
        }
        self._agents = {
            name: {"id": name, "roles": list(spec.roles), "owner": spec.owner}
            for name, spec in policy.model.agents.items()
        }
        self._fingerprinter: Fingerprinter | None = None

    def _prints(self) -> Fingerprinter:
        if self._fingerprinter is None:
            self._fingerprinter = Fingerprinter(
                self._store.fingerprint_key(), tuple(self._detectors())
            )
        return self._fingerprinter

    def applies(self, agent: str, tool: str) -> bool:
        return self._active and (tool in self._fields or tool in self._policy.owners)

    # ----------------------------------------------------------------- before

    def admit(self, action: Action) -> Verdict:
        fields = self._fields.get(action.tool)
        if not self._active or not fields:
            return CONTINUE
        texts: list[tuple[Path, str]] = []
        for field in fields:
            found = at_path(action.args, field)
            if found is not None:
                texts.extend(strings(found[1], found[0]))
        if not texts:
            return CONTINUE
        prints = self._prints()
        located = [(path, text, prints.values(text), prints.passages(text)) for path, text in texts]
        wanted = {p.print for _, _, vs, _ in located for p in vs}
        wanted.update(item for _, _, _, ps in located for item in ps.prints)
        known = self._store.owners_of(_scope(action), wanted, self._clock.now())
        if not known:
            return CONTINUE
        allowed, who = self._recipient_owners(action)
        key = self._store.fingerprint_key()
        allowed = frozenset(owner_label(o, key) for o in allowed)
        leaks: list[tuple[Path, str, list[Leak]]] = []
        for path, text, values, passages in located:
            found_leaks = assess(
                values, passages, known, allowed, min_words=self._settings.min_words
            )
            if found_leaks:
                leaks.append((path, text, found_leaks))
        if not leaks:
            return CONTINUE
        reasons = tuple(
            _reason(path, action.tool, found, who, self._settings.action)
            for path, _, found in leaks
        )
        spans = {path: [s for leak in found for s in leak.spans] for path, _, found in leaks}

        def cut(path: Path, text: str) -> str:
            return _cut(text, spans[path]) if path in spans else text

        # Either way the other owner's data is cut out of the action: a blocked action is
        # audited without the data it tried to leak.
        redacted = action.with_changes(args=replace_strings(action.args, cut))
        step = Step.DENY if self._settings.action == "block" else Step.CONTINUE
        return Verdict(step, reasons, redacted)

    def _recipient_owners(self, action: Action) -> tuple[frozenset[str], str]:
        """The owner whose data the recipients may receive (empty: none), and a phrase
        describing the recipient for messages."""
        tool = action.tool
        variables = self._variables(action, None)
        owner_expr = self._policy.recipient_owners.get(tool)
        if owner_expr is not None:
            owners = _as_strings(_evaluate(owner_expr, variables))
            return _single(owners), "the recipient's owner (recipient_owner)"
        recipient_expr = self._policy.recipients.get(tool)
        recipients = _as_strings(_evaluate(recipient_expr, variables)) if recipient_expr else []
        if recipients and self._resolver is not None:
            resolved: list[str | None] = []
            for recipient in recipients:
                try:
                    resolved.append(self._resolver(recipient))
                except Exception:  # a broken resolver resolves nothing: fail closed
                    resolved.append(None)
            if all(r is not None for r in resolved):
                return _single([r for r in resolved if r is not None]), "the recipient's owner"
            # The resolver knows no owner for some recipient (an outside address): that
            # recipient may receive no owned data. Never fall back to the action's subject,
            # which says whom the work is for, not who receives it.
            return frozenset(), "a recipient with no known owner"
        if action.subject:
            return frozenset({action.subject}), "the action's subject"
        return frozenset(), "a recipient with no known owner"

    def _variables(self, action: Action, result: Any) -> dict[str, Any]:
        variables: dict[str, Any] = {
            "args": to_cel(action.args),
            "agent": self._agents.get(
                action.agent, {"id": action.agent, "roles": [], "owner": None}
            ),
            "session": action.session,
            "subject": action.subject,
            "now": self._clock.now(),
        }
        if result is not None:
            variables["result"] = to_cel(plain(result))
        return variables

    # ------------------------------------------------------------------ after

    def review_result(self, action: Action, result: Any) -> ResultVerdict:
        owner_expr = self._policy.owners.get(action.tool)
        if owner_expr is None or result is None:
            return RESULT_OK
        value = plain(result)
        texts = [text for _, text in strings(value)]
        if not texts:
            return RESULT_OK
        owners = _as_strings(_evaluate(owner_expr, self._variables(action, value)))
        reasons: tuple[Reason, ...] = ()
        if len(owners) != 1:
            owners = [UNKNOWN_OWNER]
            reasons = (
                Reason(
                    NAME,
                    "leaks.owner_unknown",
                    f"the owner of tool {action.tool!r}'s result could not be determined; "
                    "its data may be sent to no one",
                ),
            )
        now = self._clock.now()
        self._store.remember(
            _scope(action),
            owner_label(owners[0], self._store.fingerprint_key()),
            self._prints().of_texts(texts),
            at=now,
            until=now + self._remember,
        )
        return ResultVerdict(reasons) if reasons else RESULT_OK


def _scope(action: Action) -> str:
    return f"session:{action.session}" if action.session else f"agent:{action.agent}"


def _evaluate(expr: Condition | None, variables: dict[str, Any]) -> Any:
    if expr is None:
        return None
    try:
        return expr.value(variables)
    except Exception:  # a missing argument or a type error: nothing is known
        return None


def _as_strings(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str | int) and not isinstance(value, bool):
        return [str(value)] if str(value) else []
    if isinstance(value, list | tuple):
        out: list[str] = []
        for item in value:
            out.extend(_as_strings(item))
        return out
    return []


def _single(owners: Sequence[str]) -> frozenset[str]:
    distinct = frozenset(owners)
    return distinct if len(distinct) == 1 else frozenset()


def owner_label(owner: str, key: bytes) -> str:
    """How an owner is stored and compared: identifiers (``cust_42``) as they are, anything
    that might be personal data (an email address, a long number) as a keyed hash, so the
    store never holds it in clear."""
    if owner == UNKNOWN_OWNER or (_PRINTABLE_OWNER.match(owner) and not _LONG_NUMBER.search(owner)):
        return owner
    digest = hashlib.blake2b(owner.encode("utf-8", "surrogatepass"), digest_size=6, key=key)
    return "owner#" + digest.hexdigest()


def describe_owner(owner: str) -> str:
    """An owner label fit to print (see :func:`owner_label`)."""
    if owner.startswith("owner#") or owner == UNKNOWN_OWNER:
        return owner
    if _PRINTABLE_OWNER.match(owner) and not _LONG_NUMBER.search(owner):
        return repr(owner)
    return "owner#" + hashlib.sha256(owner.encode("utf-8", "surrogatepass")).hexdigest()[:12]


def _reason(path: Path, tool: str, leaks: list[Leak], who: str, action: str) -> Reason:
    parts = []
    for leak in leaks:
        what = []
        if leak.values:
            what.append(f"{leak.values} sensitive value(s)")
        if leak.words:
            what.append(f"passages of {leak.words} words")
        parts.append(f"data of {describe_owner(leak.owner)} ({' and '.join(what)})")
    where = f"outbound field {dotted(path)!r} of tool {tool!r}"
    found = f"{where} carries {'; '.join(parts)}, which {who} may not receive"
    if action == "block":
        return Reason(NAME, "leaks.other_owner", f"{found}; blocked before it was sent")
    return Reason(NAME, "leaks.redacted", f"{found}; that data was cut out")


def _cut(text: str, spans: list[tuple[int, int]]) -> str:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    out = []
    cursor = 0
    for start, end in merged:
        out.append(text[cursor:start])
        out.append(WITHHELD)
        cursor = end
    out.append(text[cursor:])
    return "".join(out)


__all__ = ["LeakLayer", "Located", "OwnerResolver", "describe_owner", "owner_label"]


register(
    LayerSpec(
        NAME,
        800,
        lambda ctx: LeakLayer(
            ctx.policy, ctx.store, ctx.clock, ctx.detectors, ctx.options.get("owner_resolver")
        ),
        ContentBlocked,
    )
)
