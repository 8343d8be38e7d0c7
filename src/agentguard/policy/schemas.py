"""Tool argument schemas: references stay inside the schema, nothing is ever fetched.

JSON Schema's ``$ref`` may name a URL (``http://…``, ``file://…``), and fastjsonschema
fetches such a reference with urllib when it compiles the schema. A policy is checked and
loaded without network or file access, so a tool's schema may refer only to its own parts
(``$ref: "#/$defs/address"``); any other reference is refused when the policy loads.
Schemas are compiled through :func:`compile_validator`, whose resolver refuses every URL,
so that even a reference this module did not foresee cannot cause a fetch.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator, Mapping
from typing import Any
from urllib.parse import unquote

import fastjsonschema

#: Keywords whose value is a reference to another schema.
REFERENCE_KEYWORDS = ("$ref", "$dynamicRef", "$recursiveRef")

Validator = Callable[[Any], Any]
Path = tuple[str | int, ...]


class RemoteReference(Exception):
    """A schema needed something outside itself while it was compiled."""

    def __init__(self, uri: str) -> None:
        super().__init__(f"the schema refers to {uri!r}, outside itself")
        self.uri = uri


def _refuse(uri: str) -> Any:
    raise RemoteReference(uri)


class _NoRemote(Mapping[str, Callable[[str], Any]]):
    """fastjsonschema's URI handlers by scheme; every scheme is answered with a refusal
    (a scheme missing from the handlers would be fetched with urllib)."""

    def __getitem__(self, scheme: str) -> Callable[[str], Any]:
        return _refuse

    def __contains__(self, scheme: object) -> bool:
        return True

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0


NO_REMOTE = _NoRemote()


def foreign_references(schema: Any) -> Iterator[tuple[Path, str]]:
    """Each reference in ``schema`` that points outside it, with its path in the schema.

    Every mapping is searched, including ones that are data (a ``const``), so nothing a
    resolver might follow is missed.
    """
    for where, ref in _references(schema):
        if not ref.startswith("#"):
            yield where, ref


def dangling_references(schema: Any) -> Iterator[tuple[Path, str]]:
    """Each ``#/…`` reference in ``schema`` whose JSON pointer leads to nothing."""
    for path, ref in _references(schema):
        if ref.startswith("#/") and not _resolves(schema, ref[2:]):
            yield path, ref


def _references(node: Any, path: Path = ()) -> Iterator[tuple[Path, str]]:
    if isinstance(node, Mapping):
        for key, value in node.items():
            if key in REFERENCE_KEYWORDS and isinstance(value, str):
                yield (*path, key), value
            else:
                yield from _references(value, (*path, key))
    elif isinstance(node, list):
        for index, item in enumerate(node):
            yield from _references(item, (*path, index))


def _resolves(schema: Any, pointer: str) -> bool:
    node = schema
    for raw in unquote(pointer).split("/"):
        part = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, Mapping) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return False
    return True


def compile_validator(schema: Mapping[str, Any]) -> Validator:
    """A fastjsonschema validator for ``schema`` that never fetches a reference.

    Raises :class:`RemoteReference` when the schema needs something outside itself, and
    ``fastjsonschema.JsonSchemaDefinitionException`` when it is not a usable schema.
    ``schema`` is not modified (fastjsonschema rewrites references in place).

    Example::

        validate = compile_validator({"type": "object", "required": ["to"]})
        validate({"to": "ana@example.com"})
    """
    return fastjsonschema.compile(
        copy.deepcopy(dict(schema)), handlers=NO_REMOTE, use_default=False
    )
