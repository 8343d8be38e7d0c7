"""The financial agent, with a person in the loop for large refunds.

    python examples/refund_approval/run.py      # on a fresh SQLite file in a temp folder

A refund of $120 runs at once. A refund of $800 waits (the call blocks) until a person
approves it — here the script plays that person, from another thread, with an approver
key — and then runs exactly once. ``agentguard rollback --action ID`` reverses it.
"""

from __future__ import annotations

import os
import sys
import tempfile
import threading
from decimal import Decimal
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))  # the policy's call: entries name refund_tools

from agentguard import Guard  # noqa: E402
from agentguard.approval import Approval  # noqa: E402


def run(store: str, approver_key: str, say: Any = print) -> dict[str, Any]:
    """Refund 120 (runs), then 800 (waits; approved with ``approver_key`` when asked)."""
    guard = Guard.from_file(HERE / "policy.yaml", store)
    decided = threading.Event()

    def approve(request: Approval) -> None:  # the person, told of each request
        def decide() -> None:
            guard.approvals.approve(request.id, key=approver_key, comment="checked the order")
            decided.set()

        threading.Thread(target=decide, daemon=True).start()

    guard.approvals.on_request(approve)
    agent = guard.agent("financial_agent", session="refunds-2026-12")
    small = agent.call("process_refund", order_id="A-1001", amount=Decimal("120"))
    say(f"refunded {small['amount']} on {small['order_id']} at once")
    large = agent.call("process_refund", order_id="A-1002", amount=Decimal("800"))  # waits
    say(f"refunded {large['amount']} on {large['order_id']} once a person approved")
    guard.close()
    return {"small": small, "large": large, "approved": decided.is_set()}


if __name__ == "__main__":
    from agentguard.control import issue_key
    from agentguard.store import open_store

    folder = Path(tempfile.mkdtemp(prefix="agentguard-refunds-"))
    os.environ.setdefault("REFUND_LEDGER", str(folder / "ledger.db"))
    url = f"sqlite:///{folder / 'agentguard.db'}"
    store = open_store(url)
    key, _ = issue_key(store, "maria", expires_in=None, tools=None, kind="approver")
    store.close()
    run(url, key)
    print(f"\naudit log: {url}; undo the large refund with agentguard rollback --action ID")
