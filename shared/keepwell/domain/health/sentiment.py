"""Email tone (VADER compound, -1..1) and critical-keyword detection."""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

_analyzer: Any = None


def analyzer() -> Any:
    """VADER loads its lexicon from disk: build it once per process, on first use."""
    global _analyzer
    if _analyzer is None:
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

        _analyzer = SentimentIntensityAnalyzer()
    return _analyzer


def tone(text: str) -> float:
    """VADER compound score of a text: -1 (very negative) .. 1 (very positive); 0 for empty text."""
    if not text.strip():
        return 0.0
    return float(analyzer().polarity_scores(text[:20_000])["compound"])


@lru_cache(maxsize=256)
def keyword_pattern(keywords: tuple[str, ...]) -> re.Pattern[str] | None:
    """One case-insensitive pattern; a keyword matches at a word start ("cancel" finds "cancelled")."""
    parts = [r"\s+".join(re.escape(word) for word in kw.split()) for kw in keywords if kw.strip()]
    if not parts:
        return None
    parts.sort(key=len, reverse=True)  # longest first so "terminate contract" wins over "terminate"
    return re.compile(r"(?<!\w)(" + "|".join(parts) + ")", re.IGNORECASE)


def find_keywords(text: str, keywords: Iterable[str]) -> list[str]:
    """Distinct keywords (as configured, lower-case) found in the text, in order of first appearance."""
    wanted = tuple(kw.strip().lower() for kw in keywords if kw.strip())
    pattern = keyword_pattern(wanted)
    if pattern is None:
        return []
    normalised = {" ".join(kw.split()): kw for kw in wanted}
    found: dict[str, None] = {}
    for match in pattern.finditer(text):
        key = " ".join(match.group(1).lower().split())
        found.setdefault(normalised.get(key, key), None)
    return list(found)
