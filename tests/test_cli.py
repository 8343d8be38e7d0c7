"""The ``agentguard`` command, run as a real subprocess (the installed console script).

Every test runs in pytest's ``tmp_path`` with ``AGENTGUARD_POLICY`` and ``AGENTGUARD_STORE``
pointing at files there, so nothing outside the test folder is read or written.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from agentguard import AgentStopped, Guard
from agentguard.cli import starter_policy_text
from agentguard.store import open_store

AGENTGUARD = Path(sys.executable).parent / "agentguard"
DB_NAME = "agentguard.db"

Run = Callable[..., subprocess.CompletedProcess[str]]


def _env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTGUARD_")}
    env.update(
        {
            "AGENTGUARD_POLICY": "policy.yaml",
            "AGENTGUARD_STORE": f"sqlite:///{DB_NAME}",
            "COLUMNS": "80",  # piped output ignores it: tables are never cut to fit
            "NO_COLOR": "1",
            "PYTHONUTF8": "1",
            "TMPDIR": str(tmp_path),  # `agentguard demo` makes its folder under here
        }
    )
    return env


@pytest.fixture
def run(tmp_path: Path) -> Run:
    """Run ``agentguard *args`` in tmp_path; returns the completed process (never raises)."""
    assert AGENTGUARD.exists(), f"console script not installed next to {sys.executable}"

    def _run(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(AGENTGUARD), *args],
            cwd=tmp_path,
            env=_env(tmp_path),
            capture_output=True,
            text=True,
            encoding="utf-8",
            timeout=timeout,
        )

    return _run


@pytest.fixture
def made_store(store_url: str) -> str:
    """An empty store at the CLI's default URL, as `agentguard init` or a guard leaves it."""
    open_store(store_url).close()
    return store_url


def _ok(result: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert result.returncode == 0, (
        f"exit {result.returncode}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    )
    assert "Traceback" not in result.stderr
    return result


def _line_col(text: str, needle: str) -> tuple[int, int]:
    """1-based line and column of the first occurrence of ``needle`` in ``text``."""
    for number, line in enumerate(text.splitlines(), 1):
        if needle in line:
            return number, line.index(needle) + 1
    raise AssertionError(f"{needle!r} not in the policy text")


def _guard_with_tools(policy: Path, store_url: str) -> Guard:
    guard = Guard.from_file(policy, store=store_url)

    @guard.tool()
    def read_inbox(folder: str = "inbox", limit: int = 20) -> list[str]:
        return ["hello"]

    @guard.tool()
    def delete_email(message_id: str) -> None:
        raise AssertionError("the starter policy never lets this run")

    return guard


def _fill_log(policy: Path, store_url: str) -> None:
    """Four action records: allow, allow, deny, deny (record 2 is a read_inbox)."""
    from agentguard import AccessDenied

    with _guard_with_tools(policy, store_url) as guard:
        agent = guard.agent("email_agent")
        agent.call("read_inbox")
        agent.call("read_inbox", folder="archive")
        for message_id in ("m1", "m2"):
            with pytest.raises(AccessDenied):
                agent.call("delete_email", message_id=message_id)


# --------------------------------------------------------------------------- policy


def test_init_writes_the_starter_policy(run: Run, tmp_path: Path) -> None:
    result = _ok(run("init"))
    written = tmp_path / "policy.yaml"
    assert written.read_text(encoding="utf-8") == starter_policy_text()
    assert "policy.yaml" in result.stdout


def test_init_refuses_to_overwrite_without_force(run: Run, tmp_path: Path) -> None:
    _ok(run("init"))
    (tmp_path / "policy.yaml").write_text("# my edits\n", encoding="utf-8")
    second = run("init")
    assert second.returncode == 2
    assert "--force" in second.stderr
    assert (tmp_path / "policy.yaml").read_text(encoding="utf-8") == "# my edits\n"
    _ok(run("init", "--force"))
    assert (tmp_path / "policy.yaml").read_text(encoding="utf-8") == starter_policy_text()


def test_check_prints_the_agents_by_tools_table_of_the_starter_policy(run: Run) -> None:
    _ok(run("init"))
    result = _ok(run("check"))
    out = result.stdout
    for name in ("email_agent", "financial_agent", "read_inbox", "process_refund"):
        assert name in out
    assert "args.amount < 500" in out
    assert "policy OK: 2 agents, 2 roles, 10 tools" in out
    row = next(line for line in out.splitlines() if "delete_email" in line)
    assert "email_agent" in row
    assert "DENY" in row


def _check_broken(run: Run, tmp_path: Path, text: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "policy.yaml").write_text(text, encoding="utf-8")
    result = run("check", "--policy", "policy.yaml")
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert "policy OK" not in result.stdout
    return result


def test_check_reports_a_typo_key_with_line_column_and_suggestion(run: Run, tmp_path: Path) -> None:
    text = starter_policy_text().replace("    roles: [support]", "    rols: [support]", 1)
    line, col = _line_col(text, "rols:")
    result = _check_broken(run, tmp_path, text)
    assert f"policy.yaml:{line}:{col}:" in result.stderr
    assert "did you mean 'roles'" in result.stderr


def test_check_reports_a_cel_syntax_error_at_its_when_line(run: Run, tmp_path: Path) -> None:
    text = starter_policy_text().replace("when: args.amount < 500", "when: args.amount < < 500")
    assert text != starter_policy_text()
    line, _ = _line_col(text, "args.amount < < 500")
    result = _check_broken(run, tmp_path, text)
    assert f"policy.yaml:{line}:" in result.stderr
    assert "CEL syntax error" in result.stderr
    assert "process_refund" in result.stderr


def test_check_reports_a_role_naming_an_unknown_tool(run: Run, tmp_path: Path) -> None:
    original = "allow: [read_inbox, draft_response, send_email]"
    text = starter_policy_text().replace(original, original.replace("draft_response", "drafts"))
    line, col = _line_col(text, "drafts")
    result = _check_broken(run, tmp_path, text)
    assert f"policy.yaml:{line}:{col}:" in result.stderr
    assert "'drafts'" in result.stderr
    assert "did you mean 'draft_response'" in result.stderr


def test_schema_prints_a_json_schema_of_the_policy_file(run: Run) -> None:
    result = _ok(run("schema"))
    schema = json.loads(result.stdout)
    assert schema["type"] == "object"
    assert {"tools", "roles", "agents"} <= set(schema["properties"])


# ----------------------------------------------------------------------------- keys


def _create_key(run: Run, *args: str) -> str:
    result = _ok(run("keys", "create", "--agent", "email_agent", *args))
    key = result.stdout.strip()
    assert key.startswith("ag_")
    assert len(key.splitlines()) == 1
    assert key not in result.stderr
    return key


def test_keys_create_prints_the_key_once_on_stdout(run: Run, policy: Path, made_store: str) -> None:
    key = _create_key(run, "--expires", "30d", "--tools", "read_inbox")
    key_id = key.split("_")[1]
    assert len(key_id) == 12
    listing = _ok(run("keys", "list"))
    assert key_id in listing.stdout
    assert "read_inbox" in listing.stdout
    assert "active" in listing.stdout
    assert key not in listing.stdout + listing.stderr
    assert key.split("_", 2)[2] not in listing.stdout + listing.stderr


def test_the_raw_key_is_never_stored_nor_exported(
    run: Run, policy: Path, tmp_path: Path, made_store: str
) -> None:
    key = _create_key(run, "--expires", "30d", "--tools", "read_inbox")
    secret = key.split("_", 2)[2]
    # Use the key, so the audit log holds an action authenticated by it.
    with _guard_with_tools(policy, made_store) as guard:
        assert guard.agent(api_key=key).call("read_inbox") == ["hello"]
        files = sorted(tmp_path.glob(DB_NAME + "*"))
        assert tmp_path / DB_NAME in files
        for path in files:  # .db, and -wal / -shm while a connection is open
            data = path.read_bytes()
            assert key.encode() not in data, path.name
            assert secret.encode() not in data, path.name
    for path in tmp_path.glob(DB_NAME + "*"):
        assert secret.encode() not in path.read_bytes(), path.name
    export = _ok(run("audit", "export", "--format", "jsonl"))
    records = [json.loads(line) for line in export.stdout.splitlines()]
    assert any(r["action"] == "read_inbox" and r["key_id"] == key.split("_")[1] for r in records)
    assert secret not in export.stdout


def test_keys_revoke_revokes_once_then_exits_1(run: Run, policy: Path, made_store: str) -> None:
    key = _create_key(run)
    key_id = key.split("_")[1]
    _ok(run("keys", "revoke", key_id))
    assert "revoked" in _ok(run("keys", "list")).stdout
    again = run("keys", "revoke", key_id)
    assert again.returncode == 1
    assert key_id in again.stderr
    assert "Traceback" not in again.stderr


def test_keys_create_cannot_widen_an_agents_tools(run: Run, policy: Path, made_store: str) -> None:
    result = run("keys", "create", "--agent", "email_agent", "--tools", "modify_pricing")
    assert result.returncode == 2
    assert "modify_pricing" in result.stderr
    assert result.stdout.strip() == ""
    listing = _ok(run("keys", "list"))
    assert "email_agent" not in listing.stdout


# ---------------------------------------------------------------------- kill switch


def test_kill_from_the_cli_stops_a_guard_in_another_process_until_resume(
    run: Run, policy: Path, store_url: str
) -> None:
    with _guard_with_tools(policy, store_url) as guard:
        agent = guard.agent("email_agent")
        assert agent.call("read_inbox") == ["hello"]

        killed = _ok(run("kill", "--agent", "email_agent", "--reason", "x"))
        assert "email_agent" in killed.stdout
        with pytest.raises(AgentStopped) as stopped:
            agent.call("read_inbox")
        assert "resume --agent email_agent" in stopped.value.message
        # Another agent is not covered by an agent kill.
        other = guard.check(
            agent="financial_agent", tool="read_transaction_history", args={"customer_id": "c1"}
        )
        assert other.allowed

        _ok(run("resume", "--agent", "email_agent"))
        assert agent.call("read_inbox") == ["hello"]

    search = _ok(run("audit", "search", "--agent", "email_agent", "--json"))
    decisions = [json.loads(line)["decision"] for line in search.stdout.splitlines()]
    assert decisions == ["allow", "kill", "deny", "resume", "allow"]


def test_kill_without_reason_exits_2(run: Run) -> None:
    result = run("kill", "--agent", "email_agent")
    assert result.returncode == 2
    assert "--reason" in result.stderr
    assert "Traceback" not in result.stderr


def test_kill_with_both_agent_and_all_exits_2(run: Run) -> None:
    result = run("kill", "--agent", "email_agent", "--all", "--reason", "x")
    assert result.returncode == 2
    assert "exactly one" in result.stderr
    assert "Traceback" not in result.stderr


def test_resume_without_a_kill_exits_1(run: Run, made_store: str) -> None:
    result = run("resume", "--agent", "email_agent")
    assert result.returncode == 1
    assert "no kill switch" in result.stderr


# ---------------------------------------------------------------------------- audit


def test_audit_verify_passes_on_an_untouched_log(run: Run, policy: Path, store_url: str) -> None:
    _fill_log(policy, store_url)
    result = _ok(run("audit", "verify"))
    assert "4 records" in result.stdout
    assert "intact" in result.stdout


def test_audit_verify_exits_1_and_names_an_edited_record(
    run: Run, policy: Path, store_url: str, tmp_path: Path
) -> None:
    _fill_log(policy, store_url)
    with sqlite3.connect(tmp_path / DB_NAME) as db:
        changed = db.execute(
            "UPDATE audit SET body = replace(body, 'read_inbox', 'read_inbox ') WHERE seq = 2"
        ).rowcount
    db.close()
    assert changed == 1
    result = run("audit", "verify")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "record 2" in result.stderr
    assert "1 records before it are intact" in result.stderr
    assert "Traceback" not in result.stderr


def test_audit_tail_shows_the_newest_records(run: Run, policy: Path, store_url: str) -> None:
    _fill_log(policy, store_url)
    table = _ok(run("audit", "tail")).stdout
    assert "read_inbox" in table
    assert "delete_email" in table
    lines = _ok(run("audit", "tail", "-n", "2", "--json")).stdout.splitlines()
    assert [json.loads(line)["seq"] for line in lines] == [3, 4]


def test_audit_search_filters_by_agent_and_decision(run: Run, policy: Path, store_url: str) -> None:
    _fill_log(policy, store_url)
    result = _ok(run("audit", "search", "--agent", "email_agent", "--decision", "deny", "--json"))
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(records) == 2
    for record in records:
        assert record["agent_id"] == "email_agent"
        assert record["decision"] == "deny"
        assert record["action"] == "delete_email"


def test_audit_export_jsonl_lines_carry_the_hash_chain(
    run: Run, policy: Path, store_url: str
) -> None:
    _fill_log(policy, store_url)
    result = _ok(run("audit", "export", "--format", "jsonl"))
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["seq"] for r in records] == [1, 2, 3, 4]
    prev = "0" * 64
    for record in records:
        assert len(record["hash"]) == 64
        assert record["prev_hash"] == prev
        prev = record["hash"]


def test_audit_export_rejects_an_unknown_format(run: Run) -> None:
    result = run("audit", "export", "--format", "csv")
    assert result.returncode == 2
    assert "jsonl" in result.stderr


# ----------------------------------------------------------------------------- demo


def test_demo_runs_and_reports_an_intact_chain(run: Run, tmp_path: Path) -> None:
    result = _ok(run("demo", timeout=120))
    assert "DENY" in result.stdout
    assert "HOLD" in result.stdout and "leaks.other_owner" in result.stdout
    assert "ALLOW" in result.stdout
    assert "hash chain: intact" in result.stdout
    assert list(tmp_path.glob("agentguard-demo-*/agentguard.db")), "demo store not under TMPDIR"


# ---------------------------------------------------------------------------- store


BAD_STORE = "sqlite:///nonexistent-dir/x.db"


@pytest.mark.parametrize(
    "command",
    [
        ["audit", "verify"],
        ["audit", "tail"],
        ["audit", "export"],
        ["keys", "list"],
        ["keys", "create", "--agent", "email_agent"],
        ["kill", "--agent", "email_agent", "--reason", "x"],
    ],
    ids=" ".join,
)
def test_an_unavailable_store_exits_3_with_a_clear_message(
    run: Run, policy: Path, tmp_path: Path, command: list[str]
) -> None:
    result = run(*command, "--store", BAD_STORE)
    assert result.returncode == 3, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert "nonexistent-dir" in result.stderr
    assert "does not exist" in result.stderr
    assert not (tmp_path / "nonexistent-dir").exists()


def test_demo_with_an_unavailable_store_exits_3_without_a_traceback(run: Run) -> None:
    result = run("demo", "--store", BAD_STORE)
    assert "Traceback" not in result.stderr
    assert result.returncode == 3


# ------------------------------------------------------------------ stores must exist


def test_init_creates_the_store_and_keeps_an_existing_policy(run: Run, tmp_path: Path) -> None:
    (tmp_path / "policy.yaml").write_text("# mine\n", encoding="utf-8")
    result = _ok(run("init"))
    assert (tmp_path / DB_NAME).is_file()
    assert "created the store" in result.stdout
    assert (tmp_path / "policy.yaml").read_text(encoding="utf-8") == "# mine\n"
    # With both in place there is nothing left to do without --force.
    assert run("init").returncode == 2


TYPO_STORE = "sqlite:///agentguard-typo.db"


@pytest.mark.parametrize(
    "command",
    [
        ["audit", "verify"],
        ["audit", "tail"],
        ["audit", "search", "--agent", "email_agent"],
        ["audit", "export"],
        ["audit", "checkpoint", "--key", "audit.key", "--out", "cp.jsonl"],
        ["keys", "list"],
        ["keys", "create", "--agent", "email_agent"],
        ["keys", "revoke", "0123456789ab"],
        ["kill", "--all", "--reason", "x"],
        ["resume", "--all"],
    ],
    ids=" ".join,
)
def test_a_store_that_does_not_exist_is_refused_not_created(
    run: Run, policy: Path, made_store: str, tmp_path: Path, command: list[str]
) -> None:
    if "checkpoint" in command:
        _ok(run("audit", "keygen", "--key", "audit.key"))
    result = run(*command, "--store", TYPO_STORE)
    assert result.returncode == 3, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert "agentguard-typo.db" in result.stderr
    assert "does not exist" in result.stderr
    assert "agentguard init" in result.stderr
    assert "OK" not in result.stdout and "stopped" not in result.stdout
    assert not (tmp_path / "agentguard-typo.db").exists()


# ------------------------------------------------------------------- bad user input


def test_keys_create_with_an_empty_tools_list_is_refused(
    run: Run, policy: Path, made_store: str
) -> None:
    for empty in ("", " ", ",", " , "):
        result = run("keys", "create", "--agent", "email_agent", "--tools", empty)
        assert result.returncode == 2, (empty, result.stdout + result.stderr)
        assert "--tools names no tool" in result.stderr
        assert result.stdout.strip() == ""
        assert "Traceback" not in result.stderr
    assert "email_agent" not in _ok(run("keys", "list")).stdout


def test_keys_create_with_an_empty_expires_is_refused(
    run: Run, policy: Path, made_store: str
) -> None:
    result = run("keys", "create", "--agent", "email_agent", "--expires", "")
    assert result.returncode == 2
    assert "--expires" in result.stderr
    assert result.stdout.strip() == ""


@pytest.mark.parametrize(
    ("command", "message"),
    [
        (
            ["keys", "create", "--agent", "email_agent", "--expires", "9999999w"],
            "too long a duration",
        ),
        (["keys", "create", "--agent", "email_agent", "--expires", "99999999999d"], "9999"),
        (["audit", "search", "--since", "99999999999d"], "--since"),
        (["audit", "search", "--since", "9999999w"], "--since"),
        (["audit", "export", "-o", "missing-dir/x.jsonl"], "missing-dir"),
        (["audit", "export", "-o", "."], "cannot write"),
        (["init", "missing-dir/p.yaml"], "folder does not exist"),
        (["init", ".", "--force"], "is a folder"),
        (["audit", "tail", "-n", "-1"], "--lines"),
        (["audit", "search", "--limit", "-1"], "--limit"),
        (["kill", "--agent", "", "--reason", "x"], "agent name is empty"),
        (["resume", "--tool", " "], "tool name is empty"),
    ],
    ids=lambda value: " ".join(value) if isinstance(value, list) else "",
)
def test_bad_input_exits_2_with_one_clear_line(
    run: Run, policy: Path, made_store: str, command: list[str], message: str
) -> None:
    result = run(*command)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert message in result.stderr
    assert result.stderr.startswith(("error:", "Usage:")), result.stderr


def test_audit_tail_with_zero_lines_prints_no_record(
    run: Run, policy: Path, store_url: str
) -> None:
    _fill_log(policy, store_url)
    assert _ok(run("audit", "tail", "-n", "0", "--json")).stdout == ""


# ----------------------------------------------------------- tables never cut names


def test_keys_list_on_narrow_output_shows_whole_ids_that_can_be_revoked(
    run: Run, policy: Path, made_store: str, tmp_path: Path
) -> None:
    key = _create_key(run, "--tools", "read_inbox,send_email", "--label", "a long label here")
    key_id = key.split("_")[1]
    env = {**_env(tmp_path), "COLUMNS": "40"}
    listing = subprocess.run(
        [str(AGENTGUARD), "keys", "list"], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert listing.returncode == 0, listing.stderr
    assert key_id in listing.stdout
    assert "email_agent" in listing.stdout
    assert "…" not in listing.stdout
    _ok(run("keys", "revoke", key_id))


def test_keys_list_on_a_narrow_terminal_keeps_ids_whole(
    policy: Path, made_store: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import io

    from rich.console import Console

    from agentguard import cli

    store = open_store(made_store)
    try:
        key_ids = [
            cli.control.issue_key(store, agent, expires_in=None, tools=None)[1].key_id
            for agent in ("email_agent", "financial_agent")
        ]
    finally:
        store.close()
    for width in (40, 200):
        screen = io.StringIO()
        terminal = Console(
            file=screen, width=width, force_terminal=True, color_system=None, highlight=False
        )
        monkeypatch.setattr(cli, "out", terminal)
        cli.keys_list(store=made_store)
        text = screen.getvalue()
        for key_id in key_ids:
            assert key_id in text, (width, text)
        assert "financial_agent" in text
        assert "(all of the agent's)" in text
        assert "…" not in text
        assert max(map(len, text.splitlines())) <= width
        assert ("┃" in text) == (width == 200)  # a table where it fits, else field lines
    cli.keys_revoke(key_ids[0], store=made_store)


@pytest.mark.parametrize("width", [30, 120])
def test_table_cells_are_printed_whole_and_literally(width: int) -> None:
    import io

    from rich.console import Console

    from agentguard.cli_table import print_table

    screen = io.StringIO()
    console = Console(file=screen, width=width, force_terminal=True, color_system=None)
    rows = [("read_transaction_history", "a, b", "args.note != '[/b]' and more words here")]
    print_table(
        console, [("tool", "id"), ("roles", "words"), ("when", "text")], rows, title="[x] t"
    )
    lines = screen.getvalue().splitlines()
    assert "[x] t" in lines[0]
    assert any("read_transaction_history" in line for line in lines)
    assert any("args.note != '[/b]' and more words here" in line for line in lines)
    assert any(line.startswith("┏") for line in lines) == (width == 120)


def test_audit_tail_keeps_names_whole_on_narrow_output(
    run: Run, policy: Path, store_url: str, tmp_path: Path
) -> None:
    _fill_log(policy, store_url)
    env = {**_env(tmp_path), "COLUMNS": "30"}
    tail = subprocess.run(
        [str(AGENTGUARD), "audit", "tail"], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert tail.returncode == 0, tail.stderr
    lines = tail.stdout.splitlines()
    assert any("email_agent" in line and "delete_email" in line for line in lines)


# -------------------------------------------------------------------- checkpoints


def _sql(path: Path, *statements: str) -> None:
    db = sqlite3.connect(path)
    for statement in statements:
        db.execute(statement)
    db.commit()
    db.close()


@pytest.fixture
def checkpointed(run: Run, policy: Path, store_url: str, tmp_path: Path) -> Path:
    """Four records, a signing key (audit.key, audit.pub) and a checkpoint of record 4."""
    _fill_log(policy, store_url)
    keygen = _ok(run("audit", "keygen", "--key", "audit.key", "--public-key", "audit.pub"))
    assert "BEGIN PUBLIC KEY" in keygen.stdout
    assert keygen.stdout == (tmp_path / "audit.pub").read_text(encoding="ascii")
    signed = _ok(run("audit", "checkpoint", "--key", "audit.key", "--out", "cp.jsonl"))
    assert "record 4" in signed.stdout
    return tmp_path / "cp.jsonl"


def _verify_against(run: Run, *extra: str) -> subprocess.CompletedProcess[str]:
    return run("audit", "verify", "--checkpoint", "cp.jsonl", "--public-key", "audit.pub", *extra)


def test_keygen_writes_a_private_key_only_its_owner_can_read_and_never_overwrites_it(
    run: Run, tmp_path: Path
) -> None:
    _ok(run("audit", "keygen", "--key", "audit.key"))
    key = tmp_path / "audit.key"
    assert key.stat().st_mode & 0o777 == 0o600
    before = key.read_bytes()
    again = run("audit", "keygen", "--key", "audit.key")
    assert again.returncode == 2
    assert "never overwritten" in again.stderr
    assert key.read_bytes() == before
    printed = _ok(run("audit", "public-key", "--key", "audit.key")).stdout
    assert printed.startswith("-----BEGIN PUBLIC KEY-----")


def test_audit_verify_passes_an_intact_log_against_its_checkpoint(
    run: Run, checkpointed: Path
) -> None:
    result = _ok(_verify_against(run))
    assert "4 records, hash chain intact" in result.stdout
    assert "checkpoints OK" in result.stdout
    # the private key works in place of the public one
    _ok(run("audit", "verify", "--checkpoint", "cp.jsonl", "--key", "audit.key"))


def test_audit_verify_detects_the_newest_record_deleted_and_the_sequence_wound_back(
    run: Run, checkpointed: Path, tmp_path: Path
) -> None:
    _sql(
        tmp_path / DB_NAME,
        "DELETE FROM audit WHERE seq = 4",
        "UPDATE sqlite_sequence SET seq = 3 WHERE name = 'audit'",
    )
    assert _ok(run("audit", "verify")).stdout.startswith("audit log OK: 3 records")  # chain alone
    result = _verify_against(run)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "checkpoint of record 4" in result.stderr
    assert "the log ends at record 3" in result.stderr
    assert "Traceback" not in result.stderr


def test_audit_verify_detects_every_record_deleted(
    run: Run, checkpointed: Path, tmp_path: Path
) -> None:
    _sql(tmp_path / DB_NAME, "DELETE FROM audit", "DELETE FROM sqlite_sequence")
    result = _verify_against(run)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "checkpoint of record 4" in result.stderr
    assert "the log is empty" in result.stderr
    assert "OK" not in result.stdout


def test_audit_verify_names_a_record_whose_time_column_was_edited(
    run: Run, policy: Path, store_url: str, tmp_path: Path
) -> None:
    _fill_log(policy, store_url)
    _sql(tmp_path / DB_NAME, "UPDATE audit SET ts = '2000-01-01T00:00:00.000000Z' WHERE seq = 2")
    # The edit hides the record from a search by time...
    found = _ok(run("audit", "search", "--since", "1h", "--json")).stdout.splitlines()
    assert [json.loads(line)["seq"] for line in found] == [1, 3, 4]
    # ...and verify names it.
    result = run("audit", "verify")
    assert result.returncode == 1
    assert "record 2" in result.stderr
    assert "'ts'" in result.stderr


def test_a_forged_checkpoint_is_rejected(run: Run, checkpointed: Path, tmp_path: Path) -> None:
    line = json.loads(checkpointed.read_text(encoding="utf-8"))
    # A forger who deleted record 4 moves the checkpoint back to record 3 and its hash.
    db = sqlite3.connect(tmp_path / DB_NAME)
    (hash3,) = db.execute("SELECT hash FROM audit WHERE seq = 3").fetchone()
    db.close()
    forged = {**line, "seq": 3, "hash": hash3}
    checkpointed.write_text(json.dumps(forged) + "\n", encoding="utf-8")
    result = _verify_against(run)
    assert result.returncode == 1
    assert "checkpoint of record 3" in result.stderr
    assert "bad signature" in result.stderr


def test_a_checkpoint_signed_with_another_key_is_rejected(
    run: Run, checkpointed: Path, tmp_path: Path
) -> None:
    _ok(run("audit", "keygen", "--key", "other.key"))
    _ok(run("audit", "checkpoint", "--key", "other.key", "--out", "cp.jsonl"))
    result = _verify_against(run)
    assert result.returncode == 1
    assert "not by the public key given" in result.stderr
    assert "checkpoint of record 4 (line 2" in result.stderr


def test_audit_verify_with_a_checkpoint_needs_its_key(run: Run, checkpointed: Path) -> None:
    result = run("audit", "verify", "--checkpoint", "cp.jsonl")
    assert result.returncode == 2
    assert "--public-key" in result.stderr


def test_audit_checkpoint_refuses_to_sign_a_broken_log(
    run: Run, checkpointed: Path, tmp_path: Path
) -> None:
    before = checkpointed.read_text(encoding="utf-8")
    _sql(tmp_path / DB_NAME, "UPDATE audit SET body = replace(body, 'inbox', 'inbix')")
    result = run("audit", "checkpoint", "--key", "audit.key", "--out", "cp.jsonl")
    assert result.returncode == 1
    assert "not signed" in result.stderr
    assert checkpointed.read_text(encoding="utf-8") == before


def test_audit_checkpoint_refuses_a_key_others_can_read(
    run: Run, checkpointed: Path, tmp_path: Path
) -> None:
    (tmp_path / "audit.key").chmod(0o644)
    result = run("audit", "checkpoint", "--key", "audit.key", "--out", "cp.jsonl")
    assert result.returncode == 2
    assert "chmod 600" in result.stderr


def test_keys_create_approver_makes_a_persons_key(run: Run, policy: Path, made_store: str) -> None:
    policy.write_text(
        policy.read_text(encoding="utf-8").replace(
            "\napprovers:", '\napprovers:\n  alice: {tools: ["*"]}', 1
        ),
        encoding="utf-8",
    )
    made = _ok(run("keys", "create", "--approver", "alice", "--store", made_store))
    key = made.stdout.strip()
    assert key.startswith("agp_") and "approver 'alice'" in made.stderr
    listed = _ok(run("keys", "list", "--store", made_store)).stdout
    assert "approver" in listed and "alice" in listed
    for args, message in [
        (("--approver", "mallory"), "not under approvers:"),
        (("--approver", "alice", "--tools", "read_inbox"), "no --tools"),
        (("--approver", "alice", "--agent", "email_agent"), "either the agent"),
        ((), "either the agent"),
    ]:
        refused = run("keys", "create", *args, "--store", made_store)
        assert refused.returncode == 2 and message in refused.stderr, (args, refused.stderr)
    key_id = key.split("_")[1]
    _ok(run("keys", "revoke", key_id, "--store", made_store))


def test_audit_verify_names_actions_cleared_to_run_that_have_no_record(
    run: Run, made_store: str
) -> None:
    from datetime import UTC, datetime

    store = open_store(made_store)
    try:  # what a process that died while its tool ran leaves behind
        store.reserve("act-1", 512, datetime(2026, 5, 1, 9, 30, tzinfo=UTC),
                      agent="financial_agent", tool="process_refund")  # fmt: skip
    finally:
        store.close()
    verified = _ok(run("audit", "verify", "--store", made_store))
    assert "1 action(s) were cleared to run but have no record" in verified.stderr
    assert "financial_agent  process_refund  action act-1" in verified.stderr
