"""The stability report: per-block checks, their statuses, and how they combine.

Everything a later stage needs from the analysis is typed data here: what a check
requires of the learned weights (`NormCondition`), the step bound it derived
(`StepBound`), and for every number whether it is exact, a rigorous bound or an estimate
(`Number`). Code generation, `certify`, plots and the JSON read these fields; nothing
after the analysis re-runs SymPy. SymPy is imported only where an exact number is made,
so the build side (measure.py, which records estimates) runs without it (plan.py).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    import sympy

Status = Literal["proven", "enforced", "conditional", "unverified", "violated"]
# The network verdict is the most severe block status, in this order.
SEVERITY: dict[str, int] = {
    "proven": 0,
    "enforced": 1,
    "conditional": 2,
    "unverified": 3,
    "violated": 4,
}
Exactness = Literal["exact", "bound", "estimate"]


@dataclass(frozen=True)
class Number:
    """A number shown in a report, and how it is known.

    `exact`: derived symbolically (`text` holds the closed form); `bound`: a rigorous
    enclosure's end (interval arithmetic with outward rounding); `estimate`: a sample or
    a measurement, which never proves anything.
    """

    value: float
    kind: Exactness
    text: str = ""

    @classmethod
    def exact(cls, expr: object) -> Number:
        import sympy

        value = sympy.sympify(expr)
        return cls(_as_float(value), "exact", _text(value))

    @classmethod
    def bound(cls, value: float) -> Number:
        return cls(float(value), "bound")

    @classmethod
    def estimate(cls, value: float) -> Number:
        return cls(float(value), "estimate")

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"value": _json_float(self.value), "kind": self.kind}
        if self.text:
            out["text"] = self.text
        return out


@dataclass(frozen=True)
class NormCondition:
    """What a block's stability requires of its learned kernels' operator norms.

    kind "each": ‖K‖₂ ≤ bound for every listed weight (each step's copy);
    kind "product": ‖K₁‖₂ · ‖K₂‖₂ ≤ bound for the two listed weights. `bound` is the
    exact bound rounded *down* to a float, so keeping a norm within it keeps the exact
    condition; `text` is the exact closed form.
    """

    weights: tuple[str, ...]
    kind: Literal["each", "product"]
    bound: float
    text: str = ""

    @classmethod
    def of(cls, weights: tuple[str, ...], kind: Literal["each", "product"], bound: object):
        import sympy

        value = sympy.sympify(bound)
        return cls(tuple(weights), kind, round_down(value), _text(value))

    @property
    def each(self) -> float:
        """The bound on each single norm that keeps the condition (√bound for a product)."""
        if self.kind == "each":
            return self.bound
        return math.nextafter(math.sqrt(self.bound), 0.0)

    def to_dict(self) -> dict[str, Any]:
        return {
            "weights": list(self.weights),
            "kind": self.kind,
            "bound": _json_float(self.bound),
            "text": self.text,
        }


@dataclass(frozen=True)
class ParamBound:
    """What a block's stability requires of a learned positive param: 0 < p ≤ bound (on
    every channel of a per-channel param). `bound` is a float32 number at or below the
    exact bound (strictly below a strict one), so the generated clamp keeps the exact
    condition; `text` is the exact bound it was rounded from."""

    param: str
    bound: float
    text: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"param": self.param, "bound": _json_float(self.bound), "text": self.text}


@dataclass(frozen=True)
class StepBound:
    """A step-size condition derived for this block: τ ≤ bound (τ < bound when strict)."""

    tau: Number
    bound: Number
    strict: bool = False
    closed_form: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "tau": self.tau.to_dict(),
            "bound": self.bound.to_dict(),
            "strict": self.strict,
            "closed_form": self.closed_form,
        }


@dataclass
class Check:
    """One condition: the formula, the same with numbers plugged in, and the verdict.

    `values` are the numbers the condition shows, each a `Number` (exact, bound or
    estimate); `requires` is what the check leaves to the learned weights, and `step`
    the step bound it derived.
    """

    name: str
    formula: str
    condition: str
    status: Status
    reason: str
    notion: str = ""
    margin: float | None = None
    values: dict[str, Number] = field(default_factory=dict)
    requires: NormCondition | None = None
    step: StepBound | None = None
    param: ParamBound | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            **_attributes(self, "name formula condition status reason notion"),
            "margin": None if self.margin is None else _json_float(self.margin),
            "values": {k: _value_dict(v) for k, v in self.values.items()},
            "requires": self.requires.to_dict() if self.requires else None,
            "step": self.step.to_dict() if self.step else None,
            **({"param": self.param.to_dict()} if self.param else {}),
        }


@dataclass
class BlockReport:
    name: str
    pde: str
    scheme: str
    equations: list[str]
    parameters: int
    reversible: bool
    checks: list[Check]
    index: int = 0
    # the scheme's update (schemes/update.py), derived with the checks, for the emitter:
    # nothing after the analysis re-runs SymPy. Not part of the serialised report.
    update: Any = field(default=None, repr=False, compare=False)

    @property
    def status(self) -> Status:
        return max((c.status for c in self.checks), key=SEVERITY.__getitem__, default="proven")

    @property
    def condition(self) -> str:
        """The most severe check's condition, numbers plugged in: among equals, the one
        with a step bound, else the one with a norm condition, else the first (for a
        proven block, the last: the scheme's own)."""
        if not self.checks:
            return "none"
        worst = SEVERITY[self.status]
        chosen = [c for c in self.checks if SEVERITY[c.status] == worst]
        for preferred in ([c for c in chosen if c.step], [c for c in chosen if c.requires]):
            if preferred:
                return preferred[0].condition
        return (chosen[0] if self.status != "proven" else chosen[-1]).condition

    def norm_conditions(self, status: Status | None = None) -> list[NormCondition]:
        """The conditions on learned norms, of checks with `status` (default: all)."""
        return [
            c.requires
            for c in self.checks
            if c.requires is not None and (status is None or c.status == status)
        ]

    def enforced_bounds(self) -> dict[str, float]:
        """Per learned weight, the tightest ‖K‖₂ bound that enforcement keeps."""
        bounds: dict[str, float] = {}
        for cond in self.norm_conditions("enforced"):
            for weight in cond.weights:
                bounds[weight] = min(bounds.get(weight, math.inf), cond.each)
        return bounds

    def enforced_params(self) -> dict[str, float]:
        """Per learned param, the tightest upper bound that enforcement clamps it to."""
        bounds: dict[str, float] = {}
        for c in self.checks:
            if c.param is not None and c.status == "enforced":
                bounds[c.param.param] = min(bounds.get(c.param.param, math.inf), c.param.bound)
        return bounds

    def to_dict(self) -> dict[str, object]:
        return {
            **_attributes(self, "name pde scheme status condition equations parameters reversible"),
            "checks": [c.to_dict() for c in self.checks],
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
    def verdict(self) -> Status:
        """The most severe block status (proven for a network without blocks)."""
        return max((b.status for b in self.blocks), key=SEVERITY.__getitem__, default="proven")

    @property
    def stable(self) -> bool:
        """Every block proven or enforced."""
        return SEVERITY[self.verdict] <= SEVERITY["enforced"]

    @property
    def violated(self) -> bool:
        return self.verdict == "violated"

    def block(self, index: int) -> BlockReport:
        return next(b for b in self.blocks if b.index == index)

    def to_dict(self) -> dict[str, object]:
        return {
            **_attributes(
                self, "network spec parameters verdict stable input_shape output_shape constants"
            ),
            "blocks": [b.to_dict() for b in self.blocks],
        }


def _attributes(obj: object, names: str) -> dict[str, Any]:
    """The attributes `names` (space-separated) of obj as they are, keyed by name: the
    part of a `to_dict` that needs no conversion."""
    return {name: getattr(obj, name) for name in names.split()}


def round_down(value: object) -> float:
    """The largest float ≤ an exact (SymPy) non-negative value; inf stays inf."""
    import sympy

    value = sympy.sympify(value)
    if value in (sympy.oo, sympy.zoo):
        return math.inf
    f = _as_float(value)
    if math.isfinite(f) and sympy.Rational(f) > value:
        f = math.nextafter(f, -math.inf)
    return f


def _as_float(value: sympy.Expr) -> float:
    import sympy

    if value in (sympy.oo, sympy.zoo):
        return math.inf
    if value == -sympy.oo:
        return -math.inf
    return float(value.evalf(30)) if hasattr(value, "evalf") else float(value)


def _text(value: sympy.Expr) -> str:
    import sympy

    return sympy.sstr(value).replace("**", "^")


def _json_float(value: float) -> float | str:
    if math.isnan(value):
        return "nan"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return value


def _value_dict(value: object) -> object:
    if isinstance(value, Number):
        return value.to_dict()
    return value
