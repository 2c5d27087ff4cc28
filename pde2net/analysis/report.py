"""The stability report: per-block checks, their statuses, and how they combine."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Literal

Status = Literal["proven", "conditional", "enforced", "violated"]
_SEVERITY = {"proven": 0, "enforced": 1, "conditional": 2, "violated": 3}


@dataclass
class Check:
    """One condition: the formula, the same with numbers plugged in, and the verdict."""

    name: str
    formula: str
    condition: str
    status: Status
    reason: str
    notion: str = ""
    margin: float | None = None
    values: dict[str, object] = field(default_factory=dict)


@dataclass
class BlockReport:
    name: str
    pde: str
    scheme: str
    equations: list[str]
    parameters: int
    reversible: bool
    checks: list[Check]

    @property
    def status(self) -> Status:
        return max((c.status for c in self.checks), key=_SEVERITY.__getitem__, default="proven")

    @property
    def condition(self) -> str:
        """The first violated condition, else the scheme's own (last) one, numbers
        plugged in."""
        violated = [c for c in self.checks if c.status == "violated"]
        chosen = violated[0] if violated else (self.checks[-1] if self.checks else None)
        return chosen.condition if chosen else "none"

    def to_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "pde": self.pde,
            "scheme": self.scheme,
            "status": self.status,
            "condition": self.condition,
            "equations": self.equations,
            "parameters": self.parameters,
            "reversible": self.reversible,
            "checks": [asdict(c) for c in self.checks],
        }


@dataclass
class Report:
    network: str
    spec: str
    parameters: int
    input_shape: list[int]
    output_shape: list[int]
    constants: dict[str, float]
    blocks: list[BlockReport]

    @property
    def stable(self) -> bool:
        return all(b.status != "violated" for b in self.blocks)

    def to_dict(self) -> dict[str, object]:
        return {
            "network": self.network,
            "spec": self.spec,
            "parameters": self.parameters,
            "stable": self.stable,
            "input_shape": self.input_shape,
            "output_shape": self.output_shape,
            "constants": self.constants,
            "blocks": [b.to_dict() for b in self.blocks],
        }
