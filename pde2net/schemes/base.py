"""What every time-stepping scheme provides: its arguments, checks, condition and code."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import ClassVar

from pde2net.analysis.report import Check
from pde2net.ir import Block
from pde2net.lang.args import ArgSpec
from pde2net.lang.errors import SpecError


@dataclass(frozen=True)
class Frame:
    """The Python names a scheme's generated methods work with.

    A block with several states receives one tensor `x` and splits it along channels in
    declaration order; a single state is the argument itself.
    """

    states: tuple[str, ...]  # Python names of the states, in declaration order
    channels: tuple[int, ...]
    rhs: dict[str, str]  # state -> name of the method computing its right-hand side
    # render(name, params, docstring, expression, extra symbol names) -> method lines
    render: Callable[..., list[str]] = field(default=lambda *a: [], compare=False)
    reversible: bool = False  # backpropagate by reconstructing states (reversible schemes)

    @property
    def param(self) -> str:
        return self.states[0] if len(self.states) == 1 else "x"

    @property
    def args(self) -> str:
        """The states as arguments of a right-hand-side method: `y, z`."""
        return ", ".join(self.states)

    def unpack(self) -> list[str]:
        if len(self.states) == 1:
            return []
        return [f"{self.args} = torch.split(x, {list(self.channels)!r}, dim=1)"]

    def pack(self) -> str:
        if len(self.states) == 1:
            return self.states[0]
        return f"torch.cat([{self.args}], dim=1)"

    def reversible_branch(self, state: str, steps: int) -> list[str]:
        """Lines that hand the steps to the memory-free backward pass when training."""
        if not self.reversible:
            return []
        return [
            "    if torch.is_grad_enabled():  # reconstruct states backwards, store none",
            f"        return reversible_steps(self, {state}, {steps})",
        ]

    def call(self, state: str, index: str, args: str | None = None) -> str:
        """A call of `state`'s right-hand side at weights `index` (on `args`, default
        the states themselves)."""
        return f"self.{self.rhs[state]}({args or self.args}, {index})"


class Scheme:
    """A time-stepping scheme: one subclass per module, registered in `schemes.REGISTRY`.

    The subclass owns both sides of the scheme: the stability conditions it derives for a
    block (`checks`) and the methods it writes into the generated module (`methods`).
    """

    name: ClassVar[str]
    title: ClassVar[str]
    order: ClassVar[int]  # the time derivative it integrates: 1 for dt(u), 2 for dtt(u)
    arguments: ClassVar[tuple[ArgSpec, ...]]
    reversible: ClassVar[bool] = False
    helpers: ClassVar[tuple[str, ...]] = ()  # runtime templates the generated code needs

    def validate(self, block: Block) -> None:
        """Reject blocks this scheme cannot step (raises a SpecError at the `by`)."""
        wrong = [eq for eq in block.pde.equations if eq.order != self.order]
        if wrong:
            have = "dtt" if wrong[0].order == 2 else "dt"
            want = "dtt" if self.order == 2 else "dt"
            hint = "; second-order equations take 'leapfrog'" if have == "dtt" else ""
            raise SpecError(
                f"scheme '{self.name}' steps {want}(u) = ... equations, but "
                f"{block.pde.name} has {have}({wrong[0].state}) = ...{hint}",
                block.scheme.loc,
            )

    def checks(self, block: Block) -> list[Check]:
        """The stability conditions for this block, derived from its expressions."""
        raise NotImplementedError

    def init_lines(self, block: Block) -> list[str]:
        """Extra lines for the generated block's __init__ (buffers of the scheme)."""
        return []

    def methods(self, block: Block, frame: Frame) -> list[list[str]]:
        """The generated block's stepping methods (`forward`, and `inverse` where the
        scheme is reversible), as lines without the class indentation."""
        raise NotImplementedError
