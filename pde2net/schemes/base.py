"""What every time-stepping scheme provides: its arguments, checks, condition and code."""

from __future__ import annotations

from typing import ClassVar

from pde2net.analysis.report import Check
from pde2net.ir import Block
from pde2net.lang.args import ArgSpec
from pde2net.lang.errors import SpecError


class Scheme:
    """A time-stepping scheme: one subclass per module, registered in `schemes.REGISTRY`.

    The subclass owns both sides of the scheme: the stability conditions it derives for a
    block (`checks`) and the update loop it writes into the generated module (`emit`).
    """

    name: ClassVar[str]
    title: ClassVar[str]
    order: ClassVar[int]  # the time derivative it integrates: 1 for dt(u), 2 for dtt(u)
    arguments: ClassVar[tuple[ArgSpec, ...]]
    reversible: ClassVar[bool] = False

    def validate(self, block: Block) -> None:
        """Reject blocks this scheme cannot step (raises a SpecError at the `by`)."""
        wrong = [eq for eq in block.pde.equations if eq.order != self.order]
        if wrong:
            have = "dtt" if wrong[0].order == 2 else "dt"
            want = "dtt" if self.order == 2 else "dt"
            raise SpecError(
                f"scheme '{self.name}' steps {want}(u) = ... equations, but "
                f"{block.pde.name} has {have}({wrong[0].state}) = ...",
                block.scheme.loc,
            )

    def checks(self, block: Block) -> list[Check]:
        """The stability conditions for this block, derived from its expressions."""
        raise NotImplementedError

    def norm_bounds(self, block: Block) -> dict[str, float]:
        """Upper bounds on ‖K‖₂ per weight that enforcement keeps true (empty: none)."""
        return {}

    def emit(self, block: Block, rhs: dict[str, str]) -> list[str]:
        """Body lines of the block's `forward(self, <state>)`; rhs maps state -> method."""
        raise NotImplementedError
