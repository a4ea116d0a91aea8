"""Explanations: the evidence that moved a score most, and a one-paragraph "why is this customer 42?"."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from keepwell.domain.health.dimensions import Evidence, Part
from keepwell.domain.health.scoring import DimensionScore, ScoreResult

TOP_EVIDENCE = 3


@dataclass(frozen=True, slots=True)
class RankedEvidence:
    dimension: str
    text: str
    impact: float  # approximate points of the score it accounts for (signed)
    ref: str | None = None


def _size(ranked: RankedEvidence) -> float:
    return -abs(ranked.impact)


def weigh(evidence: Iterable[Evidence], result: ScoreResult) -> list[RankedEvidence]:
    """Every piece of evidence with its impact in points, strongest first (by size).

    Impact = how far the item moves its dimension from a neutral 50, times the dimension's effective
    weight; evidence of N/A or disabled dimensions carries no weight and is dropped."""
    weights = {d.key: d.effective_weight for d in result.dimensions if not d.na}
    ranked = [
        RankedEvidence(e.dimension, e.text, round(e.strength * weights[e.dimension] / 2, 1), e.ref)
        for e in evidence
        if weights.get(e.dimension)
    ]
    return sorted(ranked, key=_size)


def weigh_parts(parts: Iterable[Part], result: ScoreResult) -> list[RankedEvidence]:
    """`weigh` of the parts' evidence (a Measurement's `evidence` is its parts' in order), each part's
    evidence ranked once per effective weight: a part met again on a later day is not weighed again."""
    weights = {d.key: d.effective_weight for d in result.dimensions if not d.na}
    ranked: list[RankedEvidence] = []
    for part in parts:
        if not part.evidence:
            continue
        weight = weights.get(part.dimension)
        if not weight:
            continue
        weighed = part.ranked.get(weight)
        if weighed is None:
            weighed = part.ranked[weight] = tuple(
                RankedEvidence(e.dimension, e.text, round(e.strength * weight / 2, 1), e.ref) for e in part.evidence
            )
        ranked.extend(weighed)
    ranked.sort(key=_size)
    return ranked


def rank_evidence(
    evidence: Iterable[Evidence], result: ScoreResult, limit: int = TOP_EVIDENCE
) -> tuple[list[RankedEvidence], list[RankedEvidence]]:
    """Top positive and top negative evidence."""
    ranked = weigh(evidence, result)
    return [r for r in ranked if r.impact > 0][:limit], [r for r in ranked if r.impact < 0][:limit]


def _join(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def _gap(gap: tuple[DimensionScore, float]) -> float:
    return gap[1]


def explain(
    result: ScoreResult,
    evidence: list[RankedEvidence],
    band: str | None = None,
    name: str = "This customer",
) -> str:
    """One paragraph a CSM can read aloud: the score, what drags it, what holds it up, what is missing."""
    if result.score is None:
        return (
            f"{name} has no health score: none of the model's dimensions has data "
            f"({', '.join(d.label.lower() for d in result.dimensions)} are all N/A)."
        )
    shown = f"{result.display_score:.1f}"
    sentences = [f"{name} scores {shown}" + (f" ({band})." if band else ".")]
    score = result.score
    # A dimension below the score drags it down by (score - value) x its effective weight; above, holds it up.
    gaps = [(d, (d.value - score) * d.effective_weight / 100) for d in result.dimensions if d.value is not None]
    weak = [d for d, _ in sorted([g for g in gaps if g[1] <= -0.5], key=_gap)]  # most negative first
    strong = [d for d, _ in sorted([g for g in gaps if g[1] >= 0.5], key=_gap, reverse=True)]  # stable too
    positives = [e for e in evidence if e.impact > 0]
    negatives = [e for e in evidence if e.impact < 0]
    if weak:
        sentences.append(f"It is pulled down by {_describe(weak, negatives)}.")
    if strong:
        sentences.append(f"It is held up by {_describe(strong, positives)}.")
    mentioned = " ".join(sentences)
    concerns = [e.text for e in negatives if e.text not in mentioned][:2]
    if concerns:
        sentences.append(f"Also watch: {'; '.join(concerns)}.")
    if len(gaps) < len(result.dimensions):  # some are N/A
        labels = [d.label.lower() for d in result.dimensions if d.na]
        verb = "has" if len(labels) == 1 else "have"
        sentences.append(
            f"{_join(labels).capitalize()} {verb} no data, so {'its' if len(labels) == 1 else 'their'} "
            "weight "
            f"was shared among the other dimensions (coverage {result.coverage * 100:.0f}%)."
        )
    return " ".join(sentences)


def _describe(dims: list[DimensionScore], evidence: list[RankedEvidence]) -> str:
    """The first two dimensions, each with its value, share of the score and first two pieces of evidence."""
    parts = []
    for d in dims[:2]:
        key = d.key
        why = [e.text for e in evidence if e.dimension == key][:2]
        text = f"{d.label.lower()} at {d.value:.0f} ({d.effective_weight:.0f}% of the score)"
        parts.append(text + (": " + "; ".join(why) if why else ""))
    return _join(parts)
