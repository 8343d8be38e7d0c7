"""``agentguard check``: it validates a policy without running the policy's own Python code
unless ``--load-plugins`` is given, and it refuses hostile files with a position.

Each test runs the installed console script in ``tmp_path``, with ``tmp_path`` on
``PYTHONPATH`` so that the modules the policy names there could be imported.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from agentguard.cli import starter_policy_text
from agentguard.detect.plugins import ENTRY_POINT_GROUP

AGENTGUARD = Path(sys.executable).parent / "agentguard"

Run = Callable[..., subprocess.CompletedProcess[str]]

#: A detector module that leaves a marker file next to itself when it is imported.
MARKED_MODULE = """
from pathlib import Path

Path(__file__).with_name(__name__ + ".imported").write_text("imported")


class TicketIds:
    name = "ticket_ids"
    types = frozenset({"TICKET_ID"})

    def detect(self, text):
        return []


def judge(fields, action):
    return True
"""

POLICY = """\
version: 1
tools:
  send_email:
    input: {to: {type: string}, body: {type: string}}
    outbound: [body]
roles:
  r: {allow: [send_email]}
agents:
  a: {roles: [r]}
detectors:
"""


@pytest.fixture
def run(tmp_path: Path) -> Run:
    assert AGENTGUARD.exists(), f"console script not installed next to {sys.executable}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTGUARD_")}
    env.update(
        {
            "AGENTGUARD_POLICY": "policy.yaml",
            "PYTHONPATH": str(tmp_path),
            "COLUMNS": "250",
            "NO_COLOR": "1",
            "PYTHONUTF8": "1",
        }
    )

    def _run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(AGENTGUARD), *args],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            encoding="utf-8",
            timeout=120,
        )

    return _run


def _write(tmp_path: Path, detectors_section: str, module: str = "acme_marked") -> None:
    (tmp_path / f"{module}.py").write_text(MARKED_MODULE, encoding="utf-8")
    (tmp_path / "policy.yaml").write_text(POLICY + detectors_section, encoding="utf-8")


def _ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert "policy OK" in result.stdout
    return result.stdout


def _refused(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert "policy OK" not in result.stdout
    return result.stderr


def test_check_names_a_custom_detector_without_importing_it(run: Run, tmp_path: Path) -> None:
    _write(
        tmp_path,
        "  custom: {tickets: 'acme_marked:TicketIds'}\n"
        "  rules:\n    - {scan: outbound, detectors: [tickets, pii], action: block}\n",
    )
    out = _ok(run("check"))
    assert not (tmp_path / "acme_marked.imported").exists()
    assert (
        "custom detector 'tickets' (acme_marked:TicketIds): not loaded "
        "(use --load-plugins to import)" in out
    )
    row = next(line for line in out.splitlines() if "send_email" in line)
    assert "tickets+pii" in row


def test_check_with_load_plugins_imports_the_custom_detector(run: Run, tmp_path: Path) -> None:
    _write(
        tmp_path,
        "  custom: {tickets: 'acme_marked:TicketIds'}\n"
        "  rules:\n    - {scan: outbound, detectors: [tickets], action: block}\n",
    )
    out = _ok(run("check", "--load-plugins"))
    assert (tmp_path / "acme_marked.imported").exists()
    assert "not loaded" not in out


def test_check_names_a_quality_check_function_without_importing_it(
    run: Run, tmp_path: Path
) -> None:
    _write(tmp_path, "  quality_checks:\n    - {name: judge, call: 'acme_marked:judge'}\n")
    out = _ok(run("check"))
    assert not (tmp_path / "acme_marked.imported").exists()
    assert "quality check 'judge' (acme_marked:judge): not loaded" in out
    _ok(run("check", "--load-plugins"))
    assert (tmp_path / "acme_marked.imported").exists()


def test_check_names_a_detector_of_an_installed_package_without_importing_it(
    run: Run, tmp_path: Path
) -> None:
    _write(tmp_path, "  rules:\n    - {scan: outbound, detectors: [acme_ids], action: block}\n")
    info = tmp_path / "acme_marked-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-marked\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(
        f"[{ENTRY_POINT_GROUP}]\nacme_ids = acme_marked:TicketIds\n", encoding="utf-8"
    )
    out = _ok(run("check"))
    assert not (tmp_path / "acme_marked.imported").exists()
    assert "detector entry point 'acme_ids' (acme_marked:TicketIds): not loaded" in out
    _ok(run("check", "--load-plugins"))
    assert (tmp_path / "acme_marked.imported").exists()


@pytest.mark.parametrize(
    ("section", "needle", "expected"),
    [
        (
            "  custom: {tickets: 'acme_marked.TicketIds'}\n",
            "acme_marked.TicketIds",
            "is not of the form 'module:attribute'",
        ),
        (
            "  quality_checks:\n    - {name: judge, call: 'acme marked:judge'}\n",
            "acme marked",
            "is not of the form 'module:attribute'",
        ),
        (
            "  rules:\n    - {scan: outbound, detectors: [tickest], action: block}\n",
            "tickest",
            "no detector named 'tickest'",
        ),
    ],
)
def test_check_without_plugins_still_refuses_names_that_cannot_work(
    run: Run, tmp_path: Path, section: str, needle: str, expected: str
) -> None:
    _write(tmp_path, section)
    stderr = _refused(run("check"))
    line = next(n for n, text in enumerate((POLICY + section).splitlines(), 1) if needle in text)
    assert f"policy.yaml:{line}:" in stderr and expected in stderr
    assert not (tmp_path / "acme_marked.imported").exists()


@pytest.fixture
def requests_seen() -> Iterator[tuple[str, list[str]]]:
    """An HTTP server on loopback that would serve a schema; yields its URL and request log."""
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(self.path)
            body = json.dumps({"type": "string"}).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", seen
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


def test_check_refuses_a_schema_ref_to_a_url_without_fetching_it(
    run: Run, tmp_path: Path, requests_seen: tuple[str, list[str]]
) -> None:
    url, seen = requests_seen
    text = POLICY.replace("to: {type: string}", f"to: {{$ref: '{url}/to.json'}}") + "  {}\n"
    (tmp_path / "policy.yaml").write_text(text, encoding="utf-8")
    stderr = _refused(run("check"))
    assert "policy.yaml:4:" in stderr
    assert f"tool 'send_email': $ref '{url}/to.json' is not allowed" in stderr
    assert seen == []


def test_check_refuses_an_alias_bomb_with_its_line(run: Run, tmp_path: Path) -> None:
    lines = ["a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    lines += [f"a{n}: &a{n} [{', '.join([f'*a{n - 1}'] * 9)}]" for n in range(1, 10)]
    (tmp_path / "policy.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    stderr = _refused(run("check"))
    assert "policy.yaml:6:" in stderr and "aliases expand the document" in stderr


def test_check_prints_conditions_that_look_like_markup_as_written(run: Run, tmp_path: Path) -> None:
    condition = "args.to != '[/b]' && args.body != '[bold]x'"
    text = starter_policy_text().replace(
        "allow: [read_inbox, draft_response, send_email]",
        f'allow: [read_inbox, draft_response, {{tool: send_email, when: "{condition}"}}]',
    )
    assert condition in text
    (tmp_path / "policy.yaml").write_text(text, encoding="utf-8")
    out = _ok(run("check"))
    assert condition in out
