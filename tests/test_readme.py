"""Every example in README.md runs against the real code, and the figures it states are the
code's own.

Each fenced block runs as what it is, in a fresh folder: ``sh`` command lines through the
installed ``agentguard`` command, ``yaml`` policies through the loader and ``agentguard
check``, ``python`` blocks by ``exec`` (with a small preamble for the names a snippet uses
but does not define), ``toml`` through ``tomllib``, and the ``json`` audit record against a
record a real guard wrote. Block tests are named by the line of the block's opening fence.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shlex
import subprocess
import sys
import tomllib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from ruamel.yaml import YAML

import agentguard
from agentguard import (
    Action,
    AgentGuardError,
    ContentBlocked,
    Denied,
    Guard,
    HeldForReview,
    StoreUnavailable,
)
from agentguard.audit_record import MAX_CHARS
from agentguard.cli import starter_policy_text
from agentguard.cli_scan import MAX_INPUT_BYTES
from agentguard.detect.plugins import ENTRY_POINT_GROUP
from agentguard.detect.secrets import SUBTYPES as SECRET_SUBTYPES
from agentguard.errors import denied_error
from agentguard.masking import is_secret_key
from agentguard.pipeline import Decision, Outcome, Reason
from agentguard.policy import Settings, ToolSpec, load_policy, parse_policy
from agentguard.policy.content import Plugin
from agentguard.policy.units import parse_duration
from agentguard.recordable import MAX_DEPTH, MAX_ITEMS, recordable
from agentguard.scan import MAX_TEXT_CHARS
from agentguard.store.base import AuditQuery

README = Path(__file__).resolve().parents[1] / "README.md"
README_TEXT = README.read_text(encoding="utf-8")
#: the README with every run of whitespace made one space, for phrases that wrap
PROSE = " ".join(README_TEXT.split())
AGENTGUARD = Path(sys.executable).parent / "agentguard"
LANGUAGES = ("sh", "yaml", "python", "toml", "json")
#: blocks quoted from elsewhere (the mission's own notation, shown beside ours): not run
QUOTED = ("text",)


@dataclass(frozen=True)
class Block:
    """One fenced code block of the README."""

    lang: str
    line: int  # the line of its opening fence, 1-based
    text: str
    lead: str  # the last line of prose before it


def _blocks(text: str) -> list[Block]:
    lines = text.splitlines()
    blocks: list[Block] = []
    index = 0
    while index < len(lines):
        opening = re.fullmatch(r"```(\S*)\s*", lines[index])
        if opening is None:
            index += 1
            continue
        end = next(j for j in range(index + 1, len(lines)) if lines[j].startswith("```"))
        lead = next((line for line in reversed(lines[:index]) if line.strip()), "")
        body = "\n".join(lines[index + 1 : end]) + "\n"
        blocks.append(Block(opening.group(1), index + 1, body, lead))
        index = end + 1
    return blocks


BLOCKS = _blocks(README_TEXT)


def _of(lang: str) -> list[Any]:
    return [pytest.param(b, id=f"line{b.line}") for b in BLOCKS if b.lang == lang]


def _yaml(text: str) -> Any:
    return YAML(typ="safe").load(text)


def agentguard_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run the installed ``agentguard`` in ``cwd``, with its defaults (no AGENTGUARD_* env)."""
    assert AGENTGUARD.exists(), f"console script not installed next to {sys.executable}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTGUARD_")}
    env.update({"COLUMNS": "250", "NO_COLOR": "1", "PYTHONUTF8": "1", "TMPDIR": str(cwd)})
    return subprocess.run(
        [str(AGENTGUARD), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
    )


def _ok(result: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert result.returncode == 0, (
        f"{result.args}: exit {result.returncode}\n"
        f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    )
    return result


def test_every_block_is_in_a_language_this_suite_runs() -> None:
    assert BLOCKS, "no fenced blocks found in README.md"
    strays = [
        f"README.md:{b.line}: {b.lang or '(none)'}"
        for b in BLOCKS
        if b.lang not in LANGUAGES and b.lang not in QUOTED
    ]
    assert strays == []


# ------------------------------------------------------------------------------------ sh

#: README command lines that are not run here, by how they start, and why
NOT_RUN = {
    "make demo": "creates .venv and installs from PyPI; this suite already runs in one",
    "make serve": "serves until Ctrl-C; tests/test_make_serve.py runs it on a free port",
    "make test": "runs this very suite (and lint and types)",
    "python3 -m venv": "creates .venv and installs from PyPI; this suite already runs in one",
}
COMMAND_NAMES = ("agentguard", ".venv/bin/agentguard")


@pytest.mark.parametrize("block", _of("sh"))
def test_shell_block_runs_with_exit_0(block: Block, tmp_path: Path) -> None:
    skipped: list[str] = []
    ran = 0
    for number, line in enumerate(block.text.splitlines(), block.line + 1):
        words = shlex.split(line, comments=True)
        if not words:
            continue
        reason = next((why for start, why in NOT_RUN.items() if line.startswith(start)), None)
        if reason is not None:
            skipped.append(f"README.md:{number} not run: {reason}")
            continue
        assert words[0] in COMMAND_NAMES, (
            f"README.md:{number}: {line!r} is neither an agentguard command nor in NOT_RUN"
        )
        _ok(agentguard_cli(*words[1:], cwd=tmp_path))
        ran += 1
    if not ran:
        pytest.skip("; ".join(skipped))


# ---------------------------------------------------------------------------------- yaml

#: the tools (with the arguments their conditions read) that make a fragment a policy, by
#: the fragment's first section
FRAGMENT_TOOLS = {
    "breakers": "tools:\n  call_api: {input: {q: {type: string}}}\n",
    "alerts": """\
tools:
  call_api: {input: {q: {type: string}}, cost: 0.01}
roles:
  researcher: {allow: [call_api]}
agents:
  research_agent: {roles: [researcher]}
  support_agent: {roles: [researcher]}
""",
    "limits": """\
tools:
  send_email: {input: {to: {type: string}, body: {type: string}}}
  call_api: {input: {q: {type: string}}, cost: 0.01}
  publish_post: {input: {text: {type: string}}}
  process_refund: {input: {order_id: {type: string}, amount: {type: number}}}
roles:
  everything: {allow: [send_email, call_api, publish_post, process_refund]}
agents:
  email_agent: {roles: [everything]}
  api_calling_agent: {roles: [everything]}
  content_agent: {roles: [everything]}
  financial_agent: {roles: [everything]}
""",
    "roles": """\
tools:
  read_transaction_history: {input: {customer_id: {type: string}}}
  create_invoice: {input: {customer_id: {type: string}, amount: {type: number}}}
  process_refund: {input: {order_id: {type: string}, amount: {type: number}}}
  modify_pricing: {}
  access_banking_credentials: {}
""",
    "tools": "",  # a fragment that defines its own tools
    "approvals": """\
tools:
  publish_post: {input: {post_id: {type: string}, title: {type: string}}}
  send_to_press: {risk: high, irreversible: true}
""",
    "detectors": """\
tools:
  publish_post: {input: {text: {type: string}}, outbound: [text]}
  social_reply: {input: {to: {type: string}, text: {type: string}}, outbound: [text]}
""",
}

_STUB_DETECTOR = """
class {attr}:
    name = {name!r}
    types = frozenset({{"{type}"}})

    def detect(self, text):
        return []
"""
_STUB_CHECK = """
def {attr}(fields, action):
    return True
"""
_STUB_TOOL = """
def {attr}(**arguments):
    return None
"""


def _write_plugin_modules(root: Path, plugins: Iterable[Plugin]) -> set[str]:
    """Tiny modules under ``root`` for the Python paths a policy names (``acme.checks:…``);
    returns the top-level package names written."""
    sources: dict[str, list[str]] = {}
    for plugin in plugins:
        module, attr = plugin.target.split(":")
        if plugin.kind == "custom detector":
            code = _STUB_DETECTOR.format(attr=attr, name=plugin.name, type=plugin.name.upper())
        elif plugin.kind == "quality check":
            code = _STUB_CHECK.format(attr=attr)
        elif plugin.kind == "tool":
            code = _STUB_TOOL.format(attr=attr)
        else:
            raise AssertionError(f"no stub for a {plugin.kind} ({plugin.target})")
        sources.setdefault(module, []).append(code)
    for module, parts in sources.items():
        *packages, name = module.split(".")
        folder = root
        for package in packages:
            folder = folder / package
            folder.mkdir(exist_ok=True)
            (folder / "__init__.py").touch()
        (folder / f"{name}.py").write_text("\n".join(parts), encoding="utf-8")
    return {module.split(".")[0] for module in sources}


def _as_policy(block: Block) -> str:
    first = next(iter(_yaml(block.text)))
    if first == "version":
        return block.text
    assert first in FRAGMENT_TOOLS, (
        f"README.md:{block.line}: a fragment starting with {first!r}; add the tools it "
        "names to FRAGMENT_TOOLS"
    )
    return f"version: 1\n{FRAGMENT_TOOLS[first]}{block.text}"


@pytest.mark.parametrize("block", _of("yaml"))
def test_yaml_block_loads_and_passes_agentguard_check(
    block: Block, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text(_as_policy(block), encoding="utf-8")

    # the Python paths an example names (acme.checks:brand_voice) exist only here
    unloaded = load_policy(policy, load_plugins=False).unloaded
    packages = _write_plugin_modules(tmp_path, unloaded)
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        loaded = load_policy(policy)
    finally:
        for name in [m for m in sys.modules if m.split(".")[0] in packages]:
            del sys.modules[name]
    assert loaded.unloaded == ()

    _ok(agentguard_cli("check", cwd=tmp_path))


def test_starter_policy_excerpt_is_what_agentguard_init_writes() -> None:
    [block] = [b for b in BLOCKS if b.lang == "yaml" and "starter policy" in b.lead]
    excerpt, starter = _yaml(block.text), _yaml(starter_policy_text())
    for section, entries in excerpt.items():
        for name, spec in entries.items():
            actual = starter[section][name]
            assert {key: actual[key] for key in spec} == spec, f"{section}.{name}"


def test_policy_reference_settings_are_the_defaults_it_says() -> None:
    [block] = [b for b in BLOCKS if b.lang == "yaml" and b.text.startswith("version:")]
    settings = _yaml(block.text)["settings"]
    assert settings == Settings().model_dump()
    assert settings["max_input_bytes"] == 256 * 1024 and "(default 256 KiB)" in block.text
    assert "(default medium)" in block.text
    assert ToolSpec().risk == "medium"


# -------------------------------------------------------------------------------- python

PUBLISHING_POLICY = """\
version: 1
tools:
  publish_post: {input: {text: {type: string}}, outbound: [text]}
roles:
  social: {allow: [publish_post]}
agents:
  social_agent: {roles: [social]}
detectors:
  quality_checks:
    - name: brand_voice
      tools: [publish_post]
      action: flag_for_review
"""


def _init(tmp_path: Path) -> dict[str, Any]:
    _ok(agentguard_cli("init", cwd=tmp_path))
    return {}


def _printed_claims(block: Block) -> list[str]:
    """The ``# …`` comments of a block's ``print(…)`` lines: what they should print."""
    return re.findall(r"^\s*print\(.*\)\s*#\s*(.+?)\s*$", block.text, re.MULTILINE)


def _check_library_example(ns: dict[str, Any], block: Block, printed: str) -> None:
    # each print prints what its comment says ("…" ends a prefix): exc.code, exc.message
    claims = _printed_claims(block)
    lines = printed.splitlines()
    assert claims[0] == "access.condition_false"
    assert len(claims) == len(lines) == 2
    for claim, line in zip(claims, lines, strict=True):
        assert line.startswith(claim.rstrip("…")), (claim, line)

    guard: Guard = ns["guard"]
    assert Path("agentguard.db").exists()  # "store defaults to ./agentguard.db"
    # one executed, one denied; guard.check ran nothing and wrote nothing
    statuses = [r.data["status"] for r in guard.store.search(AuditQuery())]
    assert statuses == ["executed", "denied"]
    assert ns["decision"].allowed and ns["decision"].duration_us > 0
    # the starter excerpt and "Money": 500.00 is denied, 499.99 allowed
    for amount, allowed in (("500.00", False), ("499.99", True)):
        decision = guard.check(
            agent="financial_agent",
            tool="process_refund",
            args={"order_id": "o4", "amount": Decimal(amount)},
        )
        assert decision.allowed is allowed, amount


def _publishing_guard(tmp_path: Path) -> dict[str, Any]:
    guard = Guard(parse_policy(PUBLISHING_POLICY), "memory://")
    return {"guard": guard, "Action": Action}


def _check_quality_example(ns: dict[str, Any], block: Block, printed: str) -> None:
    guard: Guard = ns["guard"]
    posted: list[str] = []

    @guard.tool()
    def publish_post(text: str) -> str:
        posted.append(text)
        return "ok"

    agent = guard.agent("social_agent")
    agent.call("publish_post", text="Our spring menu is out.")
    with pytest.raises(HeldForReview) as held:
        agent.call("publish_post", text="OUR SPRING MENU IS OUT")
    assert held.value.code == "quality.held_for_review"
    assert held.value.decision.held
    assert "sounds robotic" in held.value.message
    assert posted == ["Our spring menu is out."]


CUSTOMER_A = {"ana@rotterdam-shipping.nl": "cust_A", "bob@okafor-retail.co.uk": "cust_B"}
A_HISTORY = "Ana Jansen, phone +31 10 414 2270, ships through Rotterdam pier 7 every other Tuesday"


def _crm(tmp_path: Path) -> dict[str, Any]:
    _init(tmp_path)
    return {"Guard": Guard, "crm": SimpleNamespace(customer_id_for_email=CUSTOMER_A.get)}


def _check_owner_resolver_example(ns: dict[str, Any], block: Block, printed: str) -> None:
    guard: Guard = ns["guard"]
    sent: list[str] = []

    @guard.tool()
    def read_transaction_history(customer_id: str) -> dict[str, str]:
        return {"history": A_HISTORY}

    @guard.tool()
    def send_email(to: str, subject: str, body: str) -> dict[str, str]:
        sent.append(to)
        return {"status": "sent"}

    finance = guard.agent("financial_agent", session="s-1", subject="cust_A")
    mail = guard.agent("email_agent", session="s-1", subject="cust_A")
    finance.call("read_transaction_history", customer_id="cust_A")
    # another customer, and an address the resolver does not know (the subject is cust_A)
    for to in ("bob@okafor-retail.co.uk", "someone@elsewhere.example"):
        with pytest.raises(ContentBlocked) as caught:
            mail.call("send_email", to=to, subject="Your shipments", body=f"Summary: {A_HISTORY}.")
        assert caught.value.code == "leaks.other_owner"
    mail.call(
        "send_email", to="ana@rotterdam-shipping.nl", subject="Your shipments", body=A_HISTORY
    )
    assert sent == ["ana@rotterdam-shipping.nl"]


Setup = Callable[[Path], dict[str, Any]]
Check = Callable[[dict[str, Any], Block, str], None]
#: by a block's first line: the names it uses but does not define, and what to check after
APPROVALS_POLICY = """
version: 1
tools:
  publish_post: {risk: medium, input: {post_id: {type: string}, title: {type: string}}}
roles:
  writer: {allow: [publish_post]}
agents:
  content_agent: {roles: [writer]}
approvals:
  medium: {mode: review, within: 2h}
approvers:
  alice: {tools: ["*"]}
"""


def _approvals_agent(tmp_path: Path) -> dict[str, Any]:
    """An agent whose publish_post waits for review, and alice, who approves every request
    as it is queued (so that the example's await_approval returns)."""
    from agentguard.control import issue_key

    (tmp_path / "policy.yaml").write_text(APPROVALS_POLICY)
    guard = Guard.from_file(tmp_path / "policy.yaml", f"sqlite:///{tmp_path / 'a.db'}")
    published: list[dict[str, Any]] = []

    @guard.tool()
    def publish_post(post_id: str, title: str) -> dict[str, str]:
        published.append({"post_id": post_id, "title": title})
        return {"published": post_id}

    key, _ = issue_key(guard.store, "alice", expires_in=None, tools=None, kind="approver")
    guard.approvals.on_request(lambda request: guard.approvals.approve(request.id, key=key))
    return {"guard": guard, "agent": guard.agent("content_agent"), "published": published}


def _check_approvals_example(ns: dict[str, Any], block: Block, printed: str) -> None:
    assert ns["result"] == {"published": "p1"}
    assert ns["published"] == [{"post_id": "p1", "title": "Launch"}]  # once
    assert ns["guard"].approvals.get(ns["ticket"].id).state == "executed"
    ns["guard"].close()


ROLLBACK_POLICY = """
version: 1
tools:
  publish_post:
    input: {text: {type: string}}
    undo: {tool: unpublish_post, args: {post_id: result.post_id}}
  unpublish_post: {input: {post_id: {type: integer}}}
  notify_press: {input: {post_id: {type: string}}}
roles:
  writer: {allow: [publish_post, notify_press]}
agents:
  content_agent: {roles: [writer]}
"""


def _rollback_agent(tmp_path: Path) -> dict[str, Any]:
    """A session that published a post, and tools that keep what is public."""
    (tmp_path / "policy.yaml").write_text(ROLLBACK_POLICY)
    guard = Guard.from_file(tmp_path / "policy.yaml", f"sqlite:///{tmp_path / 'r.db'}")
    public: dict[int, str] = {}

    @guard.tool()
    def publish_post(text: str) -> dict[str, int]:
        public[len(public) + 1] = text
        return {"post_id": len(public)}

    @guard.tool()
    def unpublish_post(post_id: int) -> None:
        public.pop(post_id)

    @guard.tool()
    def notify_press(post_id: str) -> str:
        return "sent"

    guard.agent("content_agent", session="spring-release").call("publish_post", text="Draft")
    agent = guard.agent("content_agent", session="launch")
    return {"guard": guard, "agent": agent, "public": public}


def _check_rollback_example(ns: dict[str, Any], block: Block, printed: str) -> None:
    report = ns["report"]
    assert report.ok and len(report.undone) == 1  # the session's post is down
    assert list(ns["public"].values()) == ["Launch"]  # the transaction did not fail
    ns["guard"].close()


PYTHON_EXAMPLES: dict[str, tuple[Setup, Check]] = {
    'report = guard.rollback(session="spring-release", by="oncall")   # or guard.rollback_plan(...)': (
        _rollback_agent,
        _check_rollback_example,
    ),
    "from agentguard import ApprovalPending, ApprovalRefused": (
        _approvals_agent,
        _check_approvals_example,
    ),
    "from decimal import Decimal": (_init, _check_library_example),
    '@guard.quality_check("brand_voice")': (_publishing_guard, _check_quality_example),
    'guard = Guard.from_file("policy.yaml", owner_resolver=crm.customer_id_for_email)': (
        _crm,
        _check_owner_resolver_example,
    ),
}


@pytest.mark.parametrize("block", _of("python"))
def test_python_block_runs_and_does_what_its_comments_say(
    block: Block,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    first = block.text.splitlines()[0]
    assert first in PYTHON_EXAMPLES, f"README.md:{block.line}: add a preamble for {first!r}"
    setup, check = PYTHON_EXAMPLES[first]
    monkeypatch.chdir(tmp_path)
    namespace = setup(tmp_path)
    # padded so that a traceback names the README's own line numbers
    code = compile("\n" * block.line + block.text, str(README), "exec")
    try:
        exec(code, namespace)
        check(namespace, block, capsys.readouterr().out)
    finally:
        if isinstance(guard := namespace.get("guard"), Guard):
            guard.close()


# ---------------------------------------------------------------------------------- toml


@pytest.mark.parametrize("block", _of("toml"))
def test_toml_block_parses_and_uses_the_detector_entry_point_group(block: Block) -> None:
    entry_points = tomllib.loads(block.text)["project"]["entry-points"][ENTRY_POINT_GROUP]
    assert entry_points
    assert all(re.fullmatch(r"[\w.]+:\w+", target) for target in entry_points.values())


# ---------------------------------------------------------------------------------- json


def _tags_generic(value: Any) -> str:
    """``value`` as JSON with the hash part of every tag (``[EMAIL:3f2a9c01d4e7]``) elided."""
    return re.sub(r"\[([A-Z_]+):[0-9a-f]{12}\]", r"[\1:…]", json.dumps(value, sort_keys=True))


@pytest.mark.parametrize("block", _of("json"))
def test_json_block_is_shaped_like_a_real_audit_record(block: Block, tmp_path: Path) -> None:
    example = json.loads(block.text)
    policy = tmp_path / "policy.yaml"
    policy.write_text(starter_policy_text(), encoding="utf-8")
    with Guard.from_file(policy, f"sqlite:///{tmp_path / 'agentguard.db'}") as guard:

        @guard.tool()
        def send_email(to: str, subject: str, body: str) -> dict[str, str]:
            return dict(example["output"])

        agent = guard.agent(example["agent_id"], session=example["session"])
        agent.invoke(
            example["action"],
            {"to": "customer@example.com", "subject": example["input"]["subject"], "body": "…"},
            metadata=example["metadata"],
            subject=example["subject"],
        )
        [record] = list(guard.store.search(AuditQuery()))
    real = record.data

    assert set(real) == set(example)
    same = ["kind", "agent_id", "action", "decision", "status", "output", "error", "cost"]
    same += ["metadata", "session", "subject", "key_id", "reasons"]
    assert {k: real[k] for k in same} == {k: example[k] for k in same}
    assert _tags_generic(real["input"]) == _tags_generic(example["input"])  # the address is a tag
    iso = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z"
    assert re.fullmatch(iso, real["timestamp"]) and re.fullmatch(iso, example["timestamp"])
    assert isinstance(real["duration_ms"], float) and isinstance(example["duration_ms"], float)
    # "hash = sha256(prev_hash + "\n" + seq + "\n" + body)"; the first prev_hash is 64 zeros
    assert real["prev_hash"] == "0" * 64
    chained = f"{record.prev_hash}\n{record.seq}\n{record.body}".encode()
    assert record.hash == hashlib.sha256(chained).hexdigest()


# -------------------------------------------------------------------------- prose claims


def test_scan_input_limit_is_the_real_one(tmp_path: Path) -> None:
    stated = f"a text of more than {MAX_TEXT_CHARS // 2**20} Mi characters ({MAX_TEXT_CHARS:,}"
    assert stated in PROSE
    # the byte limit never binds first: 4 UTF-8 bytes at most per character
    assert MAX_INPUT_BYTES == 4 * MAX_TEXT_CHARS
    big = tmp_path / "big.txt"
    big.write_bytes(b"a" * (MAX_TEXT_CHARS + 1))
    result = agentguard_cli("scan", str(big), cwd=tmp_path)
    assert result.returncode == 2
    assert f"over the limit of {MAX_TEXT_CHARS}" in result.stderr


def _errors_table() -> list[tuple[str, str, str]]:
    """``(tree mark, class name, description)`` of each row of the Errors table."""
    section = README_TEXT.split("\n## Errors\n", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| ([├└] )?`(\w+)` \| (.+) \|$", section, re.MULTILINE)
    return [(mark.strip(), name, text) for mark, name, text in rows]


def test_errors_table_is_the_exported_hierarchy() -> None:
    rows = _errors_table()
    parent: type[AgentGuardError] = AgentGuardError
    for mark, name, text in rows:
        assert name in agentguard.__all__, name
        cls = getattr(agentguard, name)
        assert issubclass(cls, parent if mark else AgentGuardError), name
        if not mark:
            parent = cls
        # a row's `layer.*` codes are the layers whose refusals raise that class
        for layer in re.findall(r"`(\w+)\.\*`", text):
            decision = Decision(Outcome.DENY, Action("a", "t", {}), (Reason(layer, "x", "m"),))
            assert type(denied_error(decision)) is cls, (name, layer)
    exported = {
        name
        for name in agentguard.__all__
        if isinstance(getattr(agentguard, name), type)
        and issubclass(getattr(agentguard, name), AgentGuardError)
    }
    assert {name for _, name, _ in rows} == exported - {"AgentGuardError"}


def test_every_code_the_readme_names_is_one_the_code_gives() -> None:
    source = "\n".join(
        path.read_text(encoding="utf-8") for path in Path(agentguard.__file__).parent.rglob("*.py")
    )
    layers = ("identity", "killswitch", "input", "access", "content", "leaks", "quality")
    prefixes = "|".join((*layers, "pipeline", "store", "audit"))
    named = set(re.findall(rf"`((?:{prefixes})\.[a-z_]+)`", README_TEXT))
    assert {"access.condition_imprecise", "quality.held_for_review"} <= named
    assert sorted(code for code in named if f'"{code}"' not in source) == []


def test_audit_values_are_recorded_as_stated() -> None:
    assert "U+FFFD" in PROSE and recordable("a\ud800b") == "a\ufffdb"
    assert "integers beyond 64 bits are recorded as text (beyond 4,096 bits" in PROSE
    assert recordable(2**70) == str(2**70) and recordable(2**63 - 1) == 2**63 - 1
    assert recordable(2**4095) == str(2**4095)
    assert not recordable(2**5000).isdigit()
    assert [recordable(float(v)) for v in ("nan", "inf", "-inf")] == [
        "NaN",
        "Infinity",
        "-Infinity",
    ]
    assert f"deeper than {MAX_DEPTH} levels or longer than {MAX_ITEMS:,} items" in PROSE
    assert len(recordable(list(range(MAX_ITEMS + 5)))) == MAX_ITEMS + 1  # the items and a note
    assert f"strings cut at {MAX_CHARS // 1024} Ki characters" in PROSE


def test_masked_and_unmasked_key_names_are_the_ones_stated() -> None:
    masked = (
        "aws_secret_access_key",
        "signingKey",
        "X-Api-Key",
        "credentials",
        "pwd",
        "private_key_pem",
    )
    for name in masked:
        assert f"`{name}`" in PROSE and is_secret_key(name), name
    for name in ("max_tokens", "author"):
        assert f"`{name}`" in PROSE and not is_secret_key(name), name


def test_undeclared_tool_names_are_shown_as_stated(tmp_path: Path) -> None:
    assert "`[withheld tool name 3f2a9c01d4e7]`" in PROSE and "`send_emial`" in PROSE
    policy = tmp_path / "policy.yaml"
    policy.write_text(starter_policy_text(), encoding="utf-8")
    with Guard.from_file(policy, "memory://") as guard:
        agent = guard.agent("email_agent")
        token = "sk_live_51HqLyjWDarjtT1zdp7dcXYZabc123"
        with pytest.raises(Denied) as pasted:
            agent.call(token)
        assert token not in str(pasted.value)
        assert re.search(r"\[withheld tool name [0-9a-f]{12}\]", pasted.value.message)
        with pytest.raises(Denied) as misspelt:
            agent.call("send_emial")
        assert "'send_emial'" in misspelt.value.message
        recorded = [r.data["action"] for r in guard.store.search(AuditQuery())]
    assert recorded[0].startswith("[withheld tool name ") and recorded[1] == "send_emial"


def test_a_deleted_store_refuses_calls_and_controls_and_is_not_recreated(
    tmp_path: Path,
) -> None:
    db = tmp_path / "agentguard.db"
    policy = tmp_path / "policy.yaml"
    policy.write_text(starter_policy_text(), encoding="utf-8")
    ran: list[str] = []
    with Guard.from_file(policy, f"sqlite:///{db}") as guard:

        @guard.tool()
        def read_inbox(folder: str = "inbox", limit: int = 20) -> list[str]:
            ran.append(folder)
            return []

        agent = guard.agent("email_agent")
        agent.call("read_inbox")
        assert guard.store.interrupted() == []
        for path in tmp_path.glob("agentguard.db*"):
            path.unlink()
        with pytest.raises(StoreUnavailable):
            agent.call("read_inbox", folder="archive")
        with pytest.raises(StoreUnavailable):
            guard.kill(agent="email_agent", reason="stop")
    assert ran == ["inbox"]
    assert not db.exists()


def test_a_tool_with_kwargs_receives_the_arguments_it_does_not_name(tmp_path: Path) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text(starter_policy_text(), encoding="utf-8")
    received: list[dict[str, Any]] = []
    with Guard.from_file(policy, "memory://") as guard:

        @guard.tool()
        def read_inbox(folder: str = "inbox", **kwargs: Any) -> list[str]:
            received.append({"folder": folder, **kwargs})
            return []

        guard.agent("email_agent").call("read_inbox", folder="archive", limit=5)
    assert received == [{"folder": "archive", "limit": 5}]


def test_durations_as_written_parse() -> None:
    [written] = re.findall(r"\*\*Durations\*\* are written (.+?)\.", PROSE)
    examples = re.findall(r"`(\w+)`", written)
    assert examples == ["250ms", "90s", "5m", "2h", "1d", "1w"]
    assert all(parse_duration(e).total_seconds() > 0 for e in examples)


def test_key_format_and_secret_subtype_count_are_as_stated(tmp_path: Path) -> None:
    assert f"… {len(SECRET_SUBTYPES)} in all" in PROSE
    assert "`ag_<12 hex id>_<43-character secret>`" in PROSE
    policy = tmp_path / "policy.yaml"
    policy.write_text(starter_policy_text(), encoding="utf-8")
    with Guard.from_file(policy, "memory://") as guard:
        key = guard.create_key("email_agent")
    assert re.fullmatch(r"ag_[0-9a-f]{12}_[A-Za-z0-9_-]{43}", key)
