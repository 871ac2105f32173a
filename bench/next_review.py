"""What `next_review` costs next to one `evaluate` of the same lead (pure domain, no database).

    uv run python -m bench.next_review

Every mutation under a decaying model evaluates the lead once and then asks for its next review, so
the ratio is what decay adds to scoring. Two leads with 200 activities over 10 rules and a 30-day
half-life: a typical mix (caps, windows, a penalty, a windowed immediate-hot rule), and a worst case
where nothing is capped and the first change is a score of thousands fading below the hot threshold,
so the walk goes through thousands of rounding steps.
"""

from __future__ import annotations

import random
import timeit
from datetime import UTC, datetime, timedelta
from uuid import UUID

from leadcycle.domain.decay import next_review
from leadcycle.domain.model import Activity, Company, Contact, Lead
from leadcycle.domain.rules import ActivityRule, ScoringModel, Window
from leadcycle.domain.scoring import evaluate

NOW = datetime(2026, 11, 29, 12, tzinfo=UTC)
KINDS = tuple(f"kind_{i}" for i in range(10))

TYPICAL = ScoringModel(
    3,
    warm_threshold=20,
    hot_threshold=50,
    half_life_days=30,
    rules=(
        ActivityRule("r0", KINDS[0], 1, cap=10),
        ActivityRule("r1", KINDS[1], 3, cap=15),
        ActivityRule("r2", KINDS[2], 5, cap=15, window=Window(30, 3)),
        ActivityRule("r3", KINDS[3], 5, window=Window(14)),
        ActivityRule("r4", KINDS[4], 10, cap=20),
        ActivityRule("r5", KINDS[5], 15, cap=30, window=Window(60, 2)),
        ActivityRule("r6", KINDS[6], -10, cap=30),
        ActivityRule("r7", KINDS[7], 2, cap=10, window=Window(7)),
        ActivityRule("r8", KINDS[8], 20, immediate_hot=True, window=Window(10)),
        ActivityRule("r9", KINDS[9], 1),
    ),
)
UNCAPPED = ScoringModel(
    3,
    warm_threshold=20,
    hot_threshold=50,
    half_life_days=30,
    rules=tuple(ActivityRule(f"r{i}", kind, 40 if i % 3 else -15) for i, kind in enumerate(KINDS)),
)


def activities(seed: int) -> tuple[Activity, ...]:
    """200 activities of the ten kinds over the last 90 days."""
    rng = random.Random(seed)
    return tuple(
        Activity(rng.choice(KINDS), NOW - timedelta(seconds=rng.randint(0, 90 * 86_400)), {}, 0, 1) for _ in range(200)
    )


def measure(name: str, model: ScoringModel) -> None:
    lead = Lead(UUID(int=1), Company("Bench KK"), Contact("Abe"), "seo", created_at=NOW - timedelta(days=100))
    done = activities(seed=1)
    review = next_review(model, lead, done, NOW)
    runs = 200
    review_ms = min(timeit.repeat(lambda: next_review(model, lead, done, NOW), number=runs, repeat=5)) / runs * 1000
    evaluate_ms = min(timeit.repeat(lambda: evaluate(model, lead, done, NOW), number=runs, repeat=5)) / runs * 1000
    score = evaluate(model, lead, done, NOW).score
    print(
        f"{name:<9} score {score:>5}  review {review:%Y-%m-%d %H:%M:%S}  "
        f"next_review {review_ms:.3f} ms  evaluate {evaluate_ms:.3f} ms  ratio {review_ms / evaluate_ms:.1f}"
        if review is not None
        else f"{name:<9} score {score:>5}  review never  next_review {review_ms:.3f} ms  evaluate {evaluate_ms:.3f} ms"
    )


if __name__ == "__main__":
    measure("typical", TYPICAL)
    measure("uncapped", UNCAPPED)
