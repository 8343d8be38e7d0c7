"""The README's first command, ``make serve``, on a fresh folder: it writes the starter
policy, creates the store and an admin's key (readable by its owner only), and serves the
gateway and the dashboard, which let that admin in."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    # make serve binds the port itself: take one the kernel says is free (a race with
    # another process taking it in between is possible, and would fail loudly)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.slow
def test_make_serve_sets_up_and_serves_the_gateway_and_dashboard(tmp_path: Path) -> None:
    up_to_date = subprocess.run(["make", "-q", ".venv/.installed"], cwd=ROOT, check=False)
    if up_to_date.returncode != 0:
        pytest.skip("the .venv of make is not set up (make test sets it up)")
    data, port = tmp_path / "serve", _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTGUARD_")}
    server = subprocess.Popen(
        ["make", "--no-print-directory", "serve", f"SERVE={data}", f"SERVE_PORT={port}"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True,
    )  # fmt: skip
    said: list[str] = []
    try:
        assert server.stdout is not None
        for line in server.stdout:  # ends when make ends: a failure shows what it said
            said.append(line)
            if "agentguard gateway on" in line:
                break
        assert any("agentguard gateway on" in line for line in said), "".join(said)
        key_file = data / "admin.key"
        assert key_file.stat().st_mode & 0o077 == 0  # the key is its owner's only
        key = key_file.read_text().strip()
        assert key.startswith("agp_")
        # the port listens before the line is printed: connections queue until it serves
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", trust_env=False) as http:
            assert http.get("/readyz").json() == {"status": "ready"}
            assert "Sign in" in http.get("/ui/").text
            home = http.get("/ui/f/home", headers={"Authorization": f"Bearer {key}"})
            assert home.status_code == 200 and "admin (admin)" in home.text
        assert (data / "policy.yaml").exists() and (data / "agentguard.db").exists()
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(30)


def test_serve_names_a_port_it_cannot_take(tmp_path: Path) -> None:
    import sys

    (tmp_path / "policy.yaml").write_text("version: 1\n")
    agentguard = Path(sys.executable).parent / "agentguard"
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTGUARD_")}
        done = subprocess.run(
            [str(agentguard), "serve", "--port", str(port), "--store",
             f"sqlite:///{tmp_path / 'ag.db'}"],
            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert f"cannot listen on 127.0.0.1:{port}" in done.stderr
    assert "Traceback" not in done.stderr


def test_the_gateway_socket_has_nagle_turned_off_on_every_connection() -> None:
    import asyncio

    from agentguard.cli_serve import listen

    async def accepted_nodelay() -> int:
        listener = listen("127.0.0.1", 0)
        seen: asyncio.Future[int] = asyncio.get_running_loop().create_future()

        def accepted(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            sock = writer.get_extra_info("socket")
            seen.set_result(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            writer.close()

        server = await asyncio.start_server(accepted, sock=listener)
        _, writer = await asyncio.open_connection(*listener.getsockname())
        try:
            return await asyncio.wait_for(seen, 30)
        finally:
            writer.close()
            server.close()

    assert asyncio.run(accepted_nodelay()) != 0
