"""schemathesis against the gateway's own OpenAPI description, on a real server on a
loopback port: whatever it generates for every operation — sent with a valid key of the
right kind, and with none — the gateway never answers with a 5xx."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.gateway.test_gateway import Gateway

schemathesis = pytest.importorskip("schemathesis")

ADMIN = ("/v1/kill", "/v1/resume", "/v1/audit", "/v1/status", "/v1/signals")


def test_no_generated_request_makes_the_gateway_fail(tmp_path: Path) -> None:
    gateway = Gateway(tmp_path)
    try:
        schema = schemathesis.openapi.from_url(f"{gateway.url}/openapi.json")
        operations = [result.ok() for result in schema.get_all_operations()]
        assert len(operations) >= 15
        for operation in operations:
            admin = operation.path.startswith(ADMIN)
            people = operation.path.startswith("/v1/approvals") and operation.method != "get"
            key = gateway.admin_key if admin or people else gateway.agent_key
            auth = {"Authorization": f"Bearer {key}"}

            @given(case=operation.as_strategy(), auth=st.just(auth))
            @settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck),
                      database=None, derandomize=True)  # fmt: skip
            def no_server_error(case: Any, auth: dict[str, str]) -> None:
                for headers in (auth, {}):
                    response = case.call(base_url=gateway.url, headers=headers)
                    assert response.status_code < 500, (
                        case.method, case.path, response.status_code, response.text[:300]
                    )  # fmt: skip

            no_server_error()
    finally:
        gateway.close()
