"""Tools that are HTTP endpoints (``tools.NAME.http`` in the policy): the function the
guard calls for them, so ``agent.call``, ``guard.execute`` and the gateway's
``POST /v1/execute`` run them like any registered tool, through the whole pipeline.

A call reads ``${NAME}`` references in the URL and headers from the environment (a missing
variable fails the call: nothing is sent), sends the arguments as a JSON body (POST, PUT,
PATCH) or as query parameters (GET, DELETE: scalars and lists of scalars only), does not
follow redirects, reads at most ``max_response_bytes`` and fails on any status from 300
up. The answer is the response's JSON, or its text when it is not JSON. Failures are
:class:`HttpToolError` s whose message names the tool, the URL's origin and the status, never
a header, the URL's path or query, or the response body (any of which may hold a secret).

Example::

    guard = Guard("policy.yaml")                 # tools.create_ticket.http: {url: …}
    guard.agent("support_bot").call("create_ticket", title="Refund", body="…")
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

import orjson

from agentguard.errors import HttpToolError
from agentguard.policy.http import REFERENCE, HttpSpec

_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
_SCALARS = (str, int, float, bool, Decimal)


class HttpTool:
    """The function behind one HTTP tool: ``tool(**args)`` calls the endpoint."""

    def __init__(self, name: str, spec: HttpSpec) -> None:
        self.name = name
        self.spec = spec
        self.__name__ = name  # read by describe_function for messages
        self.__doc__ = f"HTTP {spec.method} tool {name!r}"

    def __call__(self, **args: Any) -> Any:
        import httpx

        spec = self.spec
        url = self._expand(spec.url)
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise HttpToolError(f"tool {self.name!r}: its url is not http(s) with a host",
                                code="http_tool.url")  # fmt: skip
        origin = f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}"
        headers = {name: self._expand(value) for name, value in spec.headers.items()}
        request: dict[str, Any] = {}
        if spec.method in _BODY_METHODS:
            request["content"] = orjson.dumps(args, default=_default)
            headers["Content-Type"] = "application/json"
        else:
            request["params"] = _query(self.name, args)
        timeout = spec.timeout.total_seconds()
        try:
            with (
                httpx.Client(follow_redirects=False, timeout=timeout) as client,
                client.stream(spec.method, url, headers=headers, **request) as response,
            ):
                body = self._read(response, origin)
                status, kind = response.status_code, response.headers.get("content-type", "")
        except httpx.TimeoutException:
            raise HttpToolError(f"tool {self.name!r}: {origin} did not answer within "
                                f"{timeout:g} s", code="http_tool.unreachable") from None  # fmt: skip
        except httpx.HTTPError as exc:
            raise HttpToolError(f"tool {self.name!r}: {origin} cannot be reached "
                                f"({type(exc).__name__})", code="http_tool.unreachable") from None  # fmt: skip
        if status >= 300:
            what = "redirected (not followed)" if 300 <= status < 400 else f"answered HTTP {status}"
            raise HttpToolError(f"tool {self.name!r}: {origin} {what}", code="http_tool.status")
        if "json" in kind.lower():
            try:
                return orjson.loads(body)
            except orjson.JSONDecodeError:
                raise HttpToolError(f"tool {self.name!r}: {origin} sent JSON that does not "
                                    "parse", code="http_tool.status") from None  # fmt: skip
        return body.decode("utf-8", errors="replace")

    def _read(self, response: Any, origin: str) -> bytes:
        limit = self.spec.max_response_bytes
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise HttpToolError(self._too_large(origin), code="http_tool.too_large")
        chunks, size = [], 0
        for chunk in response.iter_bytes():
            size += len(chunk)
            if size > limit:
                raise HttpToolError(self._too_large(origin), code="http_tool.too_large")
            chunks.append(chunk)
        return b"".join(chunks)

    def _too_large(self, origin: str) -> str:
        return (f"tool {self.name!r}: {origin} answered more than "
                f"{self.spec.max_response_bytes} bytes (http.max_response_bytes)")  # fmt: skip

    def _expand(self, text: str) -> str:
        def value(found: Any) -> str:
            name = found.group(1)
            got = os.environ.get(name)
            if not got:
                raise HttpToolError(f"tool {self.name!r} needs the environment variable "
                                    f"{name}, which is not set", code="http_tool.secret_missing")  # fmt: skip
            if any(ch in got for ch in "\r\n\0"):
                raise HttpToolError(f"tool {self.name!r}: the environment variable {name} "
                                    "holds a line break", code="http_tool.secret_missing")  # fmt: skip
            return got

        return REFERENCE.sub(value, text)


def _query(tool: str, args: Mapping[str, Any]) -> list[tuple[str, str]]:
    params: list[tuple[str, str]] = []
    for key, value in args.items():
        values = value if isinstance(value, list) else [value]
        for item in values:
            if item is None:
                continue
            if not isinstance(item, _SCALARS):
                raise HttpToolError(f"tool {tool!r}: argument {key!r} is not a scalar or a list "
                                    "of scalars, which a query cannot carry (use POST)",
                                    code="http_tool.arguments")  # fmt: skip
            text = ("true" if item else "false") if isinstance(item, bool) else str(item)
            params.append((key, text))
    return params


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"{type(value).__name__} cannot be sent as JSON")


__all__ = ["HttpTool", "HttpToolError"]
