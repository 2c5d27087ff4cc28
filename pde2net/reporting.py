"""The stability report as a person reads it: a summary table, then each check's reason."""

from __future__ import annotations

from typing import Any

_STYLE = {
    "proven": "green",
    "enforced": "cyan",
    "conditional": "yellow",
    "unverified": "magenta",
    "violated": "bold red",
}


def print_report(report: dict[str, Any], err: bool = False) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    console = Console(stderr=err, highlight=False, width=max(120, Console().width))
    verdict = f"[{_STYLE[report['verdict']]}]{report['verdict']}[/]"
    console.print(
        f"[bold]{report['network']}[/] ({report['spec']}): {report['parameters']:,} trainable "
        f"parameters, input {tuple(report['input_shape'])} -> output "
        f"{tuple(report['output_shape'])}: {verdict}"
    )
    if not report["blocks"]:
        console.print("no pde blocks: nothing to analyse")
        return
    table = Table(show_lines=False, header_style="bold")
    for column in ("block", "scheme", "check", "condition, numbers plugged in", "margin", "status"):
        table.add_column(column, overflow="fold")
    for block in report["blocks"]:
        for i, check in enumerate(block["checks"]):
            margin = "" if check["margin"] is None else f"{check['margin']:.3g}"
            status = check["status"]
            table.add_row(
                escape(block["name"]) if i == 0 else "",
                escape(block["scheme"]) if i == 0 else "",
                escape(check["name"]),
                escape(check["condition"]),
                margin,
                f"[{_STYLE[status]}]{status}[/]",
            )
    console.print(table)
    seen: set[str] = set()
    for block in report["blocks"]:
        for check in block["checks"]:
            line = f"{check['name']} [{check['status']}]: {check['reason']}"
            if line in seen:
                continue
            seen.add(line)
            console.print(f"- [bold]{escape(block['name'])}[/], {escape(line)}")
