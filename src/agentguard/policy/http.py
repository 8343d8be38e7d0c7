"""``tools.NAME.http``: a tool that is an HTTP endpoint, run by the gateway and the library.

Example::

    tools:
      create_ticket:
        input: {title: {type: string}, body: {type: string}}
        http:
          url: https://tickets.example.com/api/tickets
          method: POST                     # arguments as a JSON body (GET/DELETE: a query)
          headers:
            Authorization: Bearer ${TICKETS_TOKEN}   # read from the environment at each call
          timeout: 10s

``${NAME}`` in the URL or a header's value is read from the environment when the tool is
called, so secrets stay out of the policy file; a variable that is not set fails the call
(closed). Names starting ``AGENTGUARD_`` are refused: they are agentguard's own (a person's
key may be among them). See :mod:`agentguard.http_tool` for how the call is made.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator

from agentguard.policy.units import Duration

#: ``${NAME}``: a reference to an environment variable
REFERENCE = re.compile(r"\$\{([^}]*)\}")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_OWN = "AGENTGUARD_"
#: headers the HTTP client sets from the request itself
_RESERVED = frozenset({"host", "content-length", "content-type", "transfer-encoding", "connection"})


def check_references(text: str) -> str:
    """``text`` when every ``${NAME}`` in it names an environment variable agentguard may
    read; ValueError naming the bad reference otherwise."""
    for found in REFERENCE.finditer(text):
        name = found.group(1)
        if not _ENV_NAME.fullmatch(name):
            raise ValueError(f"${{{name}}} is not an environment variable's name")
        if name.upper().startswith(_OWN):
            raise ValueError(f"${{{name}}}: AGENTGUARD_ variables are agentguard's own")
    if "${" in REFERENCE.sub("", text):
        raise ValueError("a '${' is not closed by '}'")
    return text


class HttpSpec(BaseModel):
    """How to call a tool that is an HTTP endpoint."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    url: str = Field(
        min_length=1, max_length=2000,
        description="http(s) URL; ${NAME} is read from the environment at each call.",
    )  # fmt: skip
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"] = Field(
        default="POST",
        description="POST/PUT/PATCH send the arguments as a JSON body, GET/DELETE as a query.",
    )
    headers: dict[str, str] = Field(
        default_factory=dict,
        description="Sent with every call; ${NAME} in a value is read from the environment "
        "and never recorded.",
    )
    timeout: Duration = Field(
        default=timedelta(seconds=30), description="Longest wait for the whole answer."
    )
    max_response_bytes: int = Field(
        default=1024 * 1024, gt=0, le=64 * 1024 * 1024,
        description="A longer answer fails the call.",
    )  # fmt: skip

    @field_validator("url")
    @classmethod
    def _url(cls, url: str) -> str:
        check_references(url)
        if not url.startswith("${"):  # a URL from the environment is checked at the call
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise ValueError("the url must be http:// or https:// with a host")
        return url

    @field_validator("headers")
    @classmethod
    def _headers(cls, headers: dict[str, str]) -> dict[str, str]:
        for name, value in headers.items():
            if not _HEADER_NAME.fullmatch(name):
                raise ValueError(f"{name!r} is not a header name")
            if name.lower() in _RESERVED:
                raise ValueError(f"{name!r} is set by the HTTP client itself")
            if any(ch in value for ch in "\r\n\0"):
                raise ValueError(f"the value of {name!r} has a line break")
            check_references(value)
        return headers

    @field_validator("timeout")
    @classmethod
    def _timeout(cls, timeout: timedelta) -> timedelta:
        if not timedelta(0) < timeout <= timedelta(minutes=10):
            raise ValueError("the timeout is more than 0 and at most 10m")
        return timeout
