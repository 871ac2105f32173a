"""What a scoring model version would do if it were activated now, computed without writing anything.

Every lead is scored under the version at `now` and let move as rescoring after an activation
would move it (rescoring.rescore_lead), on a copy; the counts say how many leads would change
score, temperature and stage, and the sample shows the first changing leads in id order.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from leadcycle.domain.lifecycle import Policy
from leadcycle.domain.model import Lead
from leadcycle.domain.rescoring import rescore_lead

PAGE = 500
MAX_SAMPLE = 100


@dataclass(frozen=True)
class LeadOutcome:
    """One lead now, and as the version would leave it."""

    before: Lead
    after: Lead


@dataclass(frozen=True)
class DryRun:
    model_version: int
    leads: int
    score_changes: int
    temperature_changes: int
    stage_changes: int
    sample: tuple[LeadOutcome, ...]


@dataclass
class DryRunTally:
    """Accumulates the outcomes of a dry run page by page."""

    model_version: int
    sample_size: int
    leads: int = 0
    score_changes: int = 0
    temperature_changes: int = 0
    stage_changes: int = 0
    sample: tuple[LeadOutcome, ...] = ()

    def add(self, lead: Lead, policy: Policy, now: datetime) -> None:
        """Score a copy of `lead` under `policy` at `now` and count what would change."""
        after = lead.snapshot()
        changed = rescore_lead(after, policy, "dry run", now) is not None
        self.leads += 1
        self.score_changes += after.score != lead.score
        self.temperature_changes += after.temperature != lead.temperature
        self.stage_changes += after.stage != lead.stage
        if changed and len(self.sample) < self.sample_size:
            self.sample += (LeadOutcome(lead, after),)

    def result(self) -> DryRun:
        return DryRun(
            self.model_version,
            self.leads,
            self.score_changes,
            self.temperature_changes,
            self.stage_changes,
            self.sample,
        )
