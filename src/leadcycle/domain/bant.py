"""The qualification policy: which BANT criteria must be confirmed before QUALIFY."""

from dataclasses import dataclass

from leadcycle.domain.model import BANT_CRITERIA, Bant
from leadcycle.domain.stages import BantStatus

_ADVICE = {
    "budget": "confirm that a budget exists for this purchase",
    "authority": "confirm who decides and that they are involved",
    "need": "confirm the problem our product solves for them",
    "timeframe": "confirm when they intend to buy",
}


@dataclass(frozen=True)
class BantPolicy:
    """Criteria that must be CONFIRMED, and how many of the four must be confirmed in all.

    The default needs all four. "Authority and need confirmed, and 3 of 4" is
    `BantPolicy(required=frozenset({"authority", "need"}), minimum_confirmed=3)`.
    """

    required: frozenset[str] = frozenset(BANT_CRITERIA)
    minimum_confirmed: int = 4

    def missing(self, bant: Bant) -> list[tuple[str, str]]:
        """(criterion, message) for each criterion the policy still needs; empty when satisfied."""
        unconfirmed = [c for c in BANT_CRITERIA if bant.criterion(c).status != BantStatus.CONFIRMED]
        confirmed = len(BANT_CRITERIA) - len(unconfirmed)
        missing = [(c, _message(bant, c)) for c in unconfirmed if c in self.required]
        still_short = self.minimum_confirmed - confirmed - len(missing)
        if still_short > 0:
            optional = [c for c in unconfirmed if c not in self.required]
            hint = (
                f"{self.minimum_confirmed} of the 4 BANT criteria must be confirmed: "
                f"confirm {still_short} more of {', '.join(optional)}"
            )
            missing += [(c, f"{_message(bant, c)} ({hint})") for c in optional]
        return missing

    def satisfied(self, bant: Bant) -> bool:
        return not self.missing(bant)


def _message(bant: Bant, criterion: str) -> str:
    status = bant.criterion(criterion).status
    state = "was judged not met" if status == BantStatus.NOT_MET else "is not confirmed yet"
    return f"{criterion.capitalize()} {state}: {_ADVICE[criterion]}"
