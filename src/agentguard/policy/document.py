"""The policy file's YAML, read within limits.

A policy is a small hand-written file, so its YAML is read with limits no such file comes
near: its size, how deeply it nests, and how many nodes it holds once aliases are
expanded. A hostile or broken file (an alias "billion laughs" bomb, ``[[[[…`` nested
100,000 deep) is refused at once with its position instead of exhausting memory or the
stack. Anchors and aliases stay usable for what policies do with them, such as sharing a
list of tools between roles::

    roles:
      support: {allow: &support_tools [read_inbox, draft_response]}
      triage: {allow: *support_tools}

A key given twice in one mapping is refused naming both lines, since one of the two would
otherwise be silently ignored; so is an anchor defined twice, which would make the same
alias mean different things in different places.
"""

from __future__ import annotations

import os
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap
from ruamel.yaml.composer import Composer
from ruamel.yaml.error import MarkedYAMLError
from ruamel.yaml.events import AliasEvent
from ruamel.yaml.nodes import MappingNode, ScalarNode

from agentguard.errors import PolicyError

#: Largest policy file read, in bytes. The starter policy is about 3 KiB.
MAX_POLICY_BYTES = 1024 * 1024
#: Deepest nesting of mappings and lists (a tool's JSON Schema is the deepest part).
MAX_DEPTH = 64
#: Most YAML nodes (keys, values, list items) in the document with every alias expanded.
MAX_NODES = 100_000

_MERGE_TAG = "tag:yaml.org,2002:merge"


class _LimitExceeded(MarkedYAMLError):
    """A limit of this module, reported at the node that crossed it."""


class _LimitedComposer(Composer):
    """ruamel's composer, counting the nodes the document expands to and checking keys.

    Composition shares an aliased node rather than copying it, so counting here refuses
    an alias bomb before anything is expanded.
    """

    def __init__(self, loader: Any = None) -> None:
        super().__init__(loader)
        self._nodes = 0
        self._open: list[int] = []  # expanded sizes of the nodes being composed
        self._sizes: dict[int, int] = {}  # id(anchored node) → its expanded size

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.parser.peek_event()
        if isinstance(event, AliasEvent):
            target = self.anchors.get(event.anchor)
            if target is not None:
                size = self._sizes.get(id(target))
                if size is None:  # the anchored node is still being composed
                    raise _LimitExceeded(
                        None,
                        None,
                        f"alias *{event.anchor} refers to a node that contains it; "
                        "a policy cannot be a recursive structure",
                        event.start_mark,
                    )
                self._count(
                    size,
                    event,
                    f"YAML aliases expand the document to more than {MAX_NODES} nodes; a "
                    "policy needs no such expansion (write repeated parts out, or share "
                    "smaller parts)",
                )
                if self._open:
                    self._open[-1] += size
            return super().compose_node(parent, index)
        self._count(
            1, event, f"the document has more than {MAX_NODES} nodes; a policy needs far fewer"
        )
        if event.anchor is not None and event.anchor in self.anchors:
            first = self.anchors[event.anchor].start_mark.line + 1
            raise _LimitExceeded(
                None,
                None,
                f"anchor &{event.anchor} is defined twice (first at line {first}); give each "
                "anchor its own name",
                event.start_mark,
            )
        if len(self._open) >= MAX_DEPTH:
            raise _LimitExceeded(
                None,
                None,
                f"nested deeper than {MAX_DEPTH} levels; a policy needs far fewer",
                event.start_mark,
            )
        self._open.append(1)
        try:
            node = super().compose_node(parent, index)
        finally:
            size = self._open.pop()
        if self._open:
            self._open[-1] += size
        if event.anchor is not None:
            self._sizes[id(node)] = size
        if isinstance(node, MappingNode):
            _refuse_duplicate_keys(node)
        return node

    def _count(self, size: int, event: Any, problem: str) -> None:
        self._nodes += size
        if self._nodes > MAX_NODES:
            raise _LimitExceeded(None, None, problem, event.start_mark)


def _refuse_duplicate_keys(node: MappingNode) -> None:
    seen: dict[str, Any] = {}
    for key, _ in node.value:
        if not isinstance(key, ScalarNode) or str(key.tag) == _MERGE_TAG:
            continue
        first = seen.setdefault(key.value, key)
        if first is not key:
            raise _LimitExceeded(
                None,
                None,
                f"duplicate key {key.value!r} (first given at line {first.start_mark.line + 1}); "
                "keep one of them",
                key.start_mark,
            )


def read_policy_text(path: str | os.PathLike[str]) -> str:
    """The text of the policy file at ``path``. Raises :class:`PolicyError`."""
    source = str(path)
    try:
        with open(path, "rb") as stream:
            data = stream.read(MAX_POLICY_BYTES + 1)
    except FileNotFoundError:
        raise PolicyError(
            [f"{source}: no such policy file (create one with `agentguard init`)"],
            code="policy.not_found",
        ) from None
    except OSError as exc:
        raise PolicyError([f"{source}: cannot read the policy file ({exc})"]) from None
    if len(data) > MAX_POLICY_BYTES:
        raise _too_large(source)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PolicyError([f"{source}: cannot read the policy file ({exc})"]) from None


def load_document(text: str, source: str) -> CommentedMap:
    """Parse policy YAML into ruamel's round-trip tree (which keeps lines and columns).

    Raises :class:`PolicyError` naming ``source:line:column``.
    """
    if len(text) > MAX_POLICY_BYTES or len(text.encode("utf-8")) > MAX_POLICY_BYTES:
        raise _too_large(source)
    yaml = YAML(typ="rt")
    yaml.Composer = _LimitedComposer
    try:
        document = yaml.load(text)
    except MarkedYAMLError as exc:
        problem = exc.problem or exc.context or "invalid YAML"
        raise PolicyError(
            [f"{_where(exc, source)}: YAML error: {problem}"], code="policy.yaml"
        ) from None
    except RecursionError:
        raise PolicyError(
            [f"{source}: YAML error: nested too deeply to read"], code="policy.yaml"
        ) from None
    except Exception as exc:
        raise PolicyError([f"{source}: YAML error: {exc}"], code="policy.yaml") from None
    if document is None:
        return CommentedMap()
    if not isinstance(document, CommentedMap):
        raise PolicyError([f"{source}:1:1: a policy file must be a mapping (version:, tools: …)"])
    return document


def _where(exc: MarkedYAMLError, source: str) -> str:
    mark = exc.problem_mark or exc.context_mark
    return f"{source}:{mark.line + 1}:{mark.column + 1}" if mark else source


def _too_large(source: str) -> PolicyError:
    return PolicyError(
        [
            f"{source}: the policy file is larger than {MAX_POLICY_BYTES // 2**20} MiB; "
            "a policy needs far less (is this the right file?)"
        ],
        code="policy.too_large",
    )
