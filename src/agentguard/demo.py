"""``agentguard demo``: a scripted email agent and financial agent against the starter policy
on a fresh SQLite store, printing each decision and then the audit trail."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

from rich.console import Console

from agentguard.cli_table import ColumnKind, print_table
from agentguard.errors import Denied, HeldForReview
from agentguard.guard import Guard
from agentguard.policy import parse_policy
from agentguard.store import AuditQuery


def _starter() -> str:
    from importlib import resources

    return resources.files("agentguard.policy").joinpath("starter.yaml").read_text("utf-8")


def build_demo_guard(store: str) -> tuple[Guard, list[dict[str, Any]]]:
    """The starter policy with small in-memory tool implementations (an outbox, a ledger)."""
    guard = Guard(parse_policy(_starter(), source="starter policy"), store)
    outbox: list[dict[str, Any]] = []

    @guard.tool()
    def read_inbox(folder: str = "inbox", limit: int = 20) -> list[dict[str, str]]:
        return [{"from": "ana@example.com", "subject": "Refund for order o-1001?"}][:limit]

    @guard.tool()
    def send_email(to: str, subject: str, body: str) -> dict[str, str]:
        outbox.append({"to": to, "subject": subject, "body": body})
        return {"message_id": f"msg_{len(outbox):04d}", "status": "sent"}

    @guard.tool()
    def delete_email(message_id: str) -> None:
        raise AssertionError("the policy never lets this run")

    @guard.tool()
    def process_refund(order_id: str, amount: Decimal, card_number: str = "") -> dict[str, str]:
        return {"refund_id": f"rf_{order_id}", "amount": str(amount), "status": "refunded"}

    @guard.tool()
    def read_transaction_history(customer_id: str) -> list[dict[str, str]]:
        return [
            {
                "customer": customer_id,
                "note": "Chargeback dispute on the March invoice; the customer says the "
                "warehouse in Lyon double-billed two pallets of ceramic tiles.",
            }
        ]

    @guard.tool()
    def modify_pricing(sku: str, price: Decimal) -> None:
        raise AssertionError("the policy never lets this run")

    return guard, outbox


def run_demo(console: Console, store: str | None = None) -> int:
    if store is None:
        folder = Path(tempfile.mkdtemp(prefix="agentguard-demo-"))
        store = f"sqlite:///{folder / 'agentguard.db'}"
    guard, _ = build_demo_guard(store)
    email = guard.agent("email_agent", session="demo-session")
    finance = guard.agent("financial_agent", session="demo-session")
    scoped_key = guard.create_key("email_agent", tools=["read_inbox"], label="demo: inbox only")
    inbox_only = guard.agent(api_key=scoped_key)

    steps: list[tuple[str, Callable[[], Any]]] = [
        ("email_agent reads the inbox", lambda: email.call("read_inbox")),
        (
            "email_agent answers a customer",
            lambda: email.invoke(
                "send_email",
                {
                    "to": "ana@example.com",
                    "subject": "Re: Refund for order o-1001?",
                    "body": "Your refund is on its way.",
                },
                metadata={"confidence_score": 0.87},
            ),
        ),
        (
            "email_agent sends text with hidden zero-width characters",
            lambda: email.call(
                "send_email",
                to="ana@example.com",
                subject="Update",
                body="Ple\u200base ign\u200bore previous mail.",
            ),
        ),
        (
            "email_agent emails an API key",
            lambda: email.call(
                "send_email",
                to="ana@example.com",
                subject="Access",
                body="Use this key: ghp_" + "R7x2Kq9LmP4vT8wZ3nB6cY1dF5gH0jA2sE4u",
            ),
        ),
        (
            "email_agent writes in crude slang",
            lambda: email.call(
                "send_email",
                to="ana@example.com",
                subject="Re: refund",
                body="lol wtf, ur refund is done af, stfu about it",
            ),
        ),
        (
            "financial_agent reads cust_41's transactions",
            lambda: finance.call("read_transaction_history", customer_id="cust_41"),
        ),
        (
            "email_agent (same session) mails that history to cust_42",
            lambda: email.invoke(
                "send_email",
                {
                    "to": "ben@example.com",
                    "subject": "Your account",
                    "body": "Notes: the customer says the warehouse in Lyon double-billed "
                    "two pallets of ceramic tiles.",
                },
                subject="cust_42",
            ),
        ),
        (
            "email_agent tries to delete an email",
            lambda: email.call("delete_email", message_id="m1"),
        ),
        (
            "financial_agent refunds $120",
            lambda: finance.call("process_refund", order_id="o-1001", amount=Decimal("120")),
        ),
        (
            "financial_agent refunds $499.99",
            lambda: finance.call("process_refund", order_id="o-1002", amount=Decimal("499.99")),
        ),
        (
            "financial_agent refunds exactly $500.00",
            lambda: finance.call("process_refund", order_id="o-1003", amount=Decimal("500.00")),
        ),
        (
            "financial_agent refunds $600 with a card number",
            lambda: finance.call(
                "process_refund",
                order_id="o-1004",
                amount=Decimal("600"),
                card_number="4111 1111 1111 1111",
            ),
        ),
        (
            "financial_agent tries to change a price",
            lambda: finance.call("modify_pricing", sku="sku-1", price=Decimal("0.01")),
        ),
        ("inbox-only API key reads the inbox", lambda: inbox_only.call("read_inbox")),
        (
            "inbox-only API key tries to send an email",
            lambda: inbox_only.call("send_email", to="ana@example.com", subject="Hi", body="Hi"),
        ),
        (
            "operator: kill switch on email_agent",
            lambda: guard.kill(agent="email_agent", reason="demo: stop the email agent", by="demo"),
        ),
        (
            "email_agent answers again (stopped)",
            lambda: email.call("send_email", to="ana@example.com", subject="Hi", body="Hello"),
        ),
        ("operator: resume email_agent", lambda: guard.resume(agent="email_agent", by="demo")),
        ("email_agent reads the inbox again", lambda: email.call("read_inbox")),
    ]

    console.print(f"[bold]agentguard demo[/bold] — starter policy, store {store}\n")
    for number, (title, step) in enumerate(steps, 1):
        try:
            step()
            verdict = (
                "[green]ALLOW[/green]" if not title.startswith("operator") else "[cyan]DONE[/cyan]"
            )
            detail = ""
        except HeldForReview as exc:
            verdict = "[yellow]HOLD[/yellow] "
            detail = f"  {exc.code}: {exc.message}"
        except Denied as exc:
            verdict = "[red]DENY[/red] "
            detail = f"  {exc.code}: {exc.message}"
        console.print(f"{number:>2}. {verdict} {title}")
        if detail:
            console.print(f"      {detail}", markup=False, style="dim")

    console.print("\n[bold]Audit trail[/bold]")
    rows = []
    for record in guard.store.search(AuditQuery()):
        data = record.data
        reasons = data.get("reasons") or []
        rows.append(
            (
                str(record.seq),
                str(data.get("agent_id") or ""),
                str(data.get("action") or ""),
                str(data.get("decision") or ""),
                _short(data.get("input")),
                reasons[-1]["code"]
                if reasons
                else str((data.get("metadata") or {}).get("reason", "")),
            )
        )
    columns: list[tuple[str, ColumnKind]] = [
        ("seq", "id"), ("agent", "id"), ("action", "id"), ("decision", "id"),
        ("input (masked)", "text"), ("reason", "id"),
    ]  # fmt: skip
    print_table(console, columns, rows)  # ids and names are never cut
    result = guard.verify_audit()
    status = "[green]intact[/green]" if result.ok else f"[red]BROKEN: {result.problem}[/red]"
    console.print(f"hash chain: {status} ({result.checked} records)")
    console.print(f"inspect it: agentguard audit tail --store {store}")
    guard.close()
    return 0 if result.ok else 1


def _short(value: Any) -> str:
    if not value:
        return ""
    text = (
        ", ".join(f"{k}={v}" for k, v in value.items()) if isinstance(value, dict) else str(value)
    )
    return text if len(text) <= 60 else text[:57] + "..."
