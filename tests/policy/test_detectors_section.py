"""The policy's detectors: section: what loads, and how its mistakes are reported."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from agentguard.detect.plugins import ENTRY_POINT_GROUP
from agentguard.errors import PolicyError
from agentguard.policy import parse_policy

BASE = """\
version: 1
tools:
  send_email:
    input: {to: {type: string}, body: {type: string}}
    outbound: [body]
    recipient: args.to
  read_thread:
    input: {customer_id: {type: string}}
    owner: args.customer_id
roles:
  r: {allow: [send_email, read_thread]}
agents:
  a: {roles: [r]}
detectors:
"""

CUSTOM = """
from agentguard.detect import Finding

class TicketIds:
    name = "ticket_ids"
    types = frozenset({"TICKET_ID"})

    def detect(self, text):
        at = text.find("TKT-")
        return [] if at < 0 else [Finding("TICKET_ID", at, at + 10, 0.9, self.name)]

not_a_detector = 42
"""


def _problems(section: str) -> list[str]:
    with pytest.raises(PolicyError) as info:
        parse_policy(BASE + textwrap.indent(textwrap.dedent(section), "  "), source="p.yaml")
    return info.value.problems


def _line(section: str, needle: str) -> int:
    text = BASE + textwrap.indent(textwrap.dedent(section), "  ")
    return next(n for n, line in enumerate(text.splitlines(), 1) if needle in line)


def test_a_full_section_loads_and_creates_each_detector_once() -> None:
    section = """
    rules:
      - {scan: inputs, detectors: [injection], action: block}
      - {scan: outbound, detectors: [pii, secrets], types: [EMAIL, SECRET], action: redact}
      - {scan: outbound, detectors: [secrets], action: stop_agent, min_score: 0.8}
      - {scan: results, detectors: [injection], tools: ["read_*"], action: wrap}
    leaks: {action: redact, min_words: 20, remember: 4h}
    """
    loaded = parse_policy(BASE + textwrap.indent(textwrap.dedent(section), "  "))
    assert set(loaded.detectors) == {"injection", "pii", "secrets"}
    assert set(loaded.owners) == {"read_thread"} and set(loaded.recipients) == {"send_email"}
    assert loaded.model.detectors.leaks.min_words == 20


@pytest.mark.parametrize(
    ("section", "needle", "expected"),
    [
        (
            "rules:\n  - {scan: outbound, detectors: [piii], action: block}\n",
            "piii",
            "no detector named 'piii'",
        ),
        (
            "rules:\n  - {scan: outbound, detectors: [pii], types: [EMAIL_ADDRESS], action: block}\n",
            "EMAIL_ADDRESS",
            "no detector of this rule reports type 'EMAIL_ADDRESS'",
        ),
        (
            "rules:\n  - {scan: outbound, detectors: [pii], action: wrap}\n",
            "wrap",
            "action 'wrap' cannot apply to outbound",
        ),
        (
            "rules:\n  - {scan: results, detectors: [pii], action: flag_for_review}\n",
            "flag_for_review",
            "action 'flag_for_review' cannot apply to results",
        ),
        (
            "rules:\n  - {scan: outbound, detectors: [pii], tools: [send_mail], action: block}\n",
            "send_mail",
            "matches no tool",
        ),
        (
            "rules:\n  - {scan: outbound, detector: [pii], action: block}\n",
            "detector:",
            "unknown key 'detector'",
        ),
        ("leaks: {action: shred}\n", "shred", "leaks.action"),
        ("pii: {phone_regions: [GB, XX]}\n", "XX", "'XX' is not a region phonenumbers knows"),
        ("pii: {region: England}\n", "England", "'England' is not a region"),
        ("pii: {learned_names: maybe}\n", "maybe", "learned_names"),
        ("pii: {phone_region: [GB]}\n", "phone_region", "unknown key 'phone_region'"),
        ("custom: {mine: 'no_such_module_xyz:Thing'}\n", "mine", "cannot import module"),
    ],
)
def test_mistakes_are_refused_with_position(section: str, needle: str, expected: str) -> None:
    problems = _problems(section)
    assert any(expected in p for p in problems), problems
    line = _line(section, needle)
    assert any(p.startswith(f"p.yaml:{line}:") for p in problems), (line, problems)


def test_pii_settings_choose_the_phone_regions_of_the_built_in_detector() -> None:
    section = """
    pii: {region: gb, phone_regions: [es, FR]}
    rules:
      - {scan: outbound, detectors: [pii], types: [PHONE], action: block}
    """
    loaded = parse_policy(BASE + textwrap.indent(textwrap.dedent(section), "  "))
    pii = loaded.detectors["pii"]
    assert (pii.region, pii.phone_regions) == ("GB", ("ES", "FR"))  # type: ignore[attr-defined]
    # a Spanish national number, with no phone word or trunk 0, counts only because ES is listed
    text = "Mine is 612 34 56 78 now."
    assert [text[f.start : f.end] for f in pii.detect(text) if f.type == "PHONE"] == [
        "612 34 56 78"
    ]
    default = parse_policy(
        BASE + "  rules:\n    - {scan: outbound, detectors: [pii], action: block}\n"
    )
    assert [f for f in default.detectors["pii"].detect(text) if f.type == "PHONE"] == []


def test_pii_settings_can_leave_the_learned_name_tagger_out() -> None:
    rules = "  rules:\n    - {scan: outbound, detectors: [pii], action: block}\n"
    off = parse_policy(BASE + "  pii: {learned_names: false}\n" + rules)
    on = parse_policy(BASE + rules)
    text = "I met Tobiah Okafor yesterday."
    assert [f.type for f in on.detectors["pii"].detect(text)] == ["PERSON"]
    assert off.detectors["pii"].detect(text) == []


def test_owner_expression_with_an_unknown_name_is_refused() -> None:
    text = BASE.replace("owner: args.customer_id", "owner: reslt.owner") + "  rules: []\n"
    with pytest.raises(PolicyError) as info:
        parse_policy(text, source="p.yaml")
    [problem] = info.value.problems
    assert problem.startswith("p.yaml:9:") and "unknown name 'reslt'" in problem


def test_custom_detector_by_python_path(tmp_path: Path, monkeypatch: Any) -> None:
    (tmp_path / "acme_detectors.py").write_text(CUSTOM, encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    loaded = parse_policy(
        BASE
        + "  custom: {tickets: 'acme_detectors:TicketIds'}\n"
        + "  rules:\n    - {scan: outbound, detectors: [tickets], types: [TICKET_ID], action: block}\n"
    )
    [finding] = loaded.detectors["tickets"].detect("see TKT-000123")
    assert finding.type == "TICKET_ID"
    problems = _problems("custom: {bad: 'acme_detectors:not_a_detector'}\n")
    assert any("does not provide name, types and detect" in p for p in problems)


def test_custom_detector_offered_by_an_installed_package(tmp_path: Path, monkeypatch: Any) -> None:
    (tmp_path / "acme_plugin.py").write_text(CUSTOM, encoding="utf-8")
    info = tmp_path / "acme_plugin-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-plugin\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(
        f"[{ENTRY_POINT_GROUP}]\nticket_ids = acme_plugin:TicketIds\n", encoding="utf-8"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    loaded = parse_policy(
        BASE + "  rules:\n    - {scan: outbound, detectors: [ticket_ids], action: block}\n"
    )
    assert loaded.detectors["ticket_ids"].name == "ticket_ids"


def test_without_plugins_nothing_is_imported_and_the_plugins_are_listed(
    tmp_path: Path, monkeypatch: Any
) -> None:
    (tmp_path / "acme_unimported.py").write_text(
        CUSTOM + "\ndef judge(fields, action):\n    return True\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    section = """
    custom: {tickets: 'acme_unimported:TicketIds', pii: 'acme_unimported:TicketIds'}
    rules:
      - {scan: outbound, detectors: [tickets, secrets], types: [NO_SUCH_TYPE], action: block}
    quality_checks:
      - {name: judge, call: 'acme_unimported:judge'}
    """
    text = BASE + textwrap.indent(textwrap.dedent(section), "  ")
    loaded = parse_policy(text, load_plugins=False)
    assert "acme_unimported" not in sys.modules
    assert [(p.kind, p.name, p.target) for p in loaded.unloaded] == [
        ("custom detector", "tickets", "acme_unimported:TicketIds"),
        ("custom detector", "pii", "acme_unimported:TicketIds"),  # the policy's own wins
        ("quality check", "judge", "acme_unimported:judge"),
    ]
    assert set(loaded.detectors) == {"secrets"}
    assert loaded.quality_functions == {"judge": None}

    loaded = parse_policy(text.replace("NO_SUCH_TYPE", "TICKET_ID"))
    assert loaded.unloaded == ()
    assert set(loaded.detectors) == {"tickets", "pii", "secrets"}
    assert loaded.quality_functions["judge"] is not None
    sys.modules.pop("acme_unimported", None)
