"""The email incident, replayed: customer B must never receive customer A's data.

    python examples/email_leak/run.py            # on a fresh SQLite file in a temp folder

An email agent reads two customers' support threads, then drafts a reply to customer B
that pastes in part of customer A's confidential thread (with A's phone number). The
guard blocks that send before it leaves and says why in the audit log; the proper replies
to B and to A go out. Nothing of A's data is stored in the audit log in clear.
"""

from __future__ import annotations

import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agentguard import Denied, Guard

HERE = Path(__file__).resolve().parent

THREADS = {
    "cust_A": (
        "From: Alice Moreau <alice.moreau@moreau-logistics.fr>\n"
        "Please keep this between us: our board will close the Leeds depot in March and "
        "let forty drivers go before the merger with Northfleet is announced. Call me on "
        "+1 312 847 2290 before Friday to talk about the contract penalties.\n"
    ),
    "cust_B": (
        "From: Bob Okafor <bob@okafor-retail.co.uk>\n"
        "My order 88412 arrived with two cracked crates. Can you send replacements or a "
        "refund to the card on file?\n"
    ),
}
#: the CRM: which customer an address belongs to
DIRECTORY = {
    "alice.moreau@moreau-logistics.fr": "cust_A",
    "bob@okafor-retail.co.uk": "cust_B",
}
#: the values of customer A that must never reach customer B, nor the audit log in clear
SENSITIVE = ("+1 312 847 2290", "alice.moreau@moreau-logistics.fr", "Leeds depot in March")


@dataclass
class Outcome:
    """What happened, for the end-to-end test."""

    sent: list[dict[str, str]] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)  # (to, code)


def build(store: str) -> tuple[Guard, list[dict[str, str]]]:
    guard = Guard.from_file(HERE / "policy.yaml", store, owner_resolver=DIRECTORY.get)
    outbox: list[dict[str, str]] = []

    @guard.tool()
    def read_thread(customer_id: str) -> dict[str, str]:
        return {"customer_id": customer_id, "thread": THREADS[customer_id]}

    @guard.tool()
    def send_email(to: str, subject: str, body: str) -> dict[str, str]:
        outbox.append({"to": to, "subject": subject, "body": body})
        return {"message_id": f"msg_{len(outbox)}", "status": "sent"}

    return guard, outbox


def run(store: str, say: Any = print) -> Outcome:
    guard, outbox = build(store)
    outcome = Outcome(sent=outbox)
    agent = guard.agent("email_agent")
    a = agent.call("read_thread", customer_id="cust_A")["thread"]
    b = agent.call("read_thread", customer_id="cust_B")["thread"]
    say("read the threads of cust_A and cust_B")

    drafts = [
        (
            "bob@okafor-retail.co.uk",
            "Re: cracked crates",
            # the incident: the agent pastes its notes on the other customer into B's reply
            "Hi Bob, sorry about order 88412, replacements are on their way.\n\n"
            "Internal notes (other account): " + a.split("\n", 1)[1],
        ),
        (
            "bob@okafor-retail.co.uk",
            "Re: cracked crates",
            "Hi Bob, sorry about order 88412: two new crates ship today.\n\n> "
            + b.split("\n", 1)[1],
        ),
        (
            "alice.moreau@moreau-logistics.fr",
            "Re: contract penalties",
            "Hi Alice, noted, we will call you on +1 312 847 2290 before Friday.",
        ),
    ]
    for to, subject, body in drafts:
        try:
            agent.call("send_email", to=to, subject=subject, body=body)
            say(f"sent to {DIRECTORY[to]}")
        except Denied as exc:
            outcome.refused.append((to, exc.code))
            say(f"REFUSED to {DIRECTORY[to]}: [{exc.code}] {exc.message}")
    guard.close()
    return outcome


if __name__ == "__main__":
    folder = Path(tempfile.mkdtemp(prefix="agentguard-email-leak-"))
    url = f"sqlite:///{folder / 'agentguard.db'}"
    result = run(url)
    print(f"\n{len(result.sent)} sent, {len(result.refused)} refused; audit log: {url}")
    print(f"inspect it: agentguard audit tail --store {url}")
    sys.exit(0 if result.refused else 1)
