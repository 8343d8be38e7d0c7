"""The social-media incident end to end (examples/social_slang): a post in inappropriate
slang is held for review and never published unreviewed; the audit log says why."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest


@pytest.fixture(scope="module")
def example(load_example: Callable[[str], ModuleType]) -> ModuleType:
    return load_example("social_slang")


def test_slang_and_shouting_are_held_and_only_the_clean_post_is_published(
    example: ModuleType, tmp_path: Path
) -> None:
    db = tmp_path / "agentguard.db"
    outcome = example.run(f"sqlite:///{db}", say=lambda _: None)

    clean, slang, shouting = example.POSTS
    assert outcome.published == [clean]
    assert outcome.held == [
        (slang, "content.held_for_review"),
        (shouting, "content.held_for_review"),
    ]

    rows = sqlite3.connect(db).execute("SELECT body FROM audit ORDER BY seq").fetchall()
    records = [json.loads(body) for (body,) in rows]
    publishes = [r for r in records if r["action"] == "publish_post"]
    assert [(r["decision"], r["status"]) for r in publishes] == [
        ("allow", "executed"),
        ("hold", "held"),
        ("hold", "held"),
    ]
    # the held record says why it was held, then names the approval request it became
    slang_hold, slang_request = publishes[1]["reasons"][-2:]
    assert slang_hold["code"] == "content.held_for_review"
    assert "PROFANITY" in slang_hold["message"] and "tone" in slang_hold["message"]
    assert slang_request["code"] == "approval.requested"
    assert "SHOUTING" in publishes[2]["reasons"][-2]["message"]
    # drafts are not public, so they are never checked for tone
    drafts = [r for r in records if r["action"] == "draft_post"]
    assert len(drafts) == 3 and all(r["decision"] == "allow" for r in drafts)


def test_a_banned_phrase_is_held_too(example: ModuleType, tmp_path: Path) -> None:
    guard, feed = example.build(f"sqlite:///{tmp_path / 'ag.db'}")
    from agentguard import HeldForReview

    with pytest.raises(HeldForReview) as caught:
        guard.agent("social_agent").call(
            "publish_post", text="Invest with us today for guaranteed   returns."
        )
    assert "BANNED_PHRASE" in caught.value.message
    assert feed == []
    guard.close()
