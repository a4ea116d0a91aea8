"""The health engine: signals -> dimension values -> weighted score, bands, smoothing, explanations,
snapshots and alerts. Pure: no AWS, no storage. See docs/health-model.md.

Its names are imported from their modules on first use (PEP 562): a function that needs one module of the
engine (the ingest its signals) does not import the rest (cold starts, decision 0027).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from keepwell.lazy import names_from

if TYPE_CHECKING:
    from keepwell.domain.health.alerts import Alert, AlertState, detect_alerts
    from keepwell.domain.health.bands import BandState, apply_hysteresis, classify, display_round
    from keepwell.domain.health.benchmark import benchmark
    from keepwell.domain.health.dimensions import Evidence, PreparedModel, SignalIndex, dimension_values
    from keepwell.domain.health.expressions import compile_expression, evaluate, expression_names
    from keepwell.domain.health.model import (
        PRESETS,
        STANDARD_DIMENSIONS,
        Band,
        DimensionConfig,
        HealthModel,
        NormalisationTargets,
        parse_health_model,
    )
    from keepwell.domain.health.scoring import DimensionScore, ScoreResult, effective_weights, score_values
    from keepwell.domain.health.signals import (
        ContractSignals,
        CustomerSignals,
        Email,
        Meeting,
        NpsResponse,
        PaymentSignals,
        RelationshipSignals,
        Ticket,
        UsageDay,
        UsageSignals,
    )
    from keepwell.domain.health.smoothing import MovingAverage, smooth_series
    from keepwell.domain.health.snapshot import HealthSnapshot, Scorer, compute_history, compute_snapshot

_MODULE_OF = {
    "PRESETS": "keepwell.domain.health.model",
    "STANDARD_DIMENSIONS": "keepwell.domain.health.model",
    "Alert": "keepwell.domain.health.alerts",
    "AlertState": "keepwell.domain.health.alerts",
    "Band": "keepwell.domain.health.model",
    "BandState": "keepwell.domain.health.bands",
    "ContractSignals": "keepwell.domain.health.signals",
    "CustomerSignals": "keepwell.domain.health.signals",
    "DimensionConfig": "keepwell.domain.health.model",
    "DimensionScore": "keepwell.domain.health.scoring",
    "Email": "keepwell.domain.health.signals",
    "Evidence": "keepwell.domain.health.dimensions",
    "HealthModel": "keepwell.domain.health.model",
    "HealthSnapshot": "keepwell.domain.health.snapshot",
    "Meeting": "keepwell.domain.health.signals",
    "MovingAverage": "keepwell.domain.health.smoothing",
    "NormalisationTargets": "keepwell.domain.health.model",
    "NpsResponse": "keepwell.domain.health.signals",
    "PaymentSignals": "keepwell.domain.health.signals",
    "PreparedModel": "keepwell.domain.health.dimensions",
    "RelationshipSignals": "keepwell.domain.health.signals",
    "ScoreResult": "keepwell.domain.health.scoring",
    "Scorer": "keepwell.domain.health.snapshot",
    "SignalIndex": "keepwell.domain.health.dimensions",
    "Ticket": "keepwell.domain.health.signals",
    "UsageDay": "keepwell.domain.health.signals",
    "UsageSignals": "keepwell.domain.health.signals",
    "apply_hysteresis": "keepwell.domain.health.bands",
    "benchmark": "keepwell.domain.health.benchmark",
    "classify": "keepwell.domain.health.bands",
    "compile_expression": "keepwell.domain.health.expressions",
    "compute_history": "keepwell.domain.health.snapshot",
    "compute_snapshot": "keepwell.domain.health.snapshot",
    "detect_alerts": "keepwell.domain.health.alerts",
    "dimension_values": "keepwell.domain.health.dimensions",
    "display_round": "keepwell.domain.health.bands",
    "effective_weights": "keepwell.domain.health.scoring",
    "evaluate": "keepwell.domain.health.expressions",
    "expression_names": "keepwell.domain.health.expressions",
    "parse_health_model": "keepwell.domain.health.model",
    "score_values": "keepwell.domain.health.scoring",
    "smooth_series": "keepwell.domain.health.smoothing",
}

__all__ = [
    "PRESETS",
    "STANDARD_DIMENSIONS",
    "Alert",
    "AlertState",
    "Band",
    "BandState",
    "ContractSignals",
    "CustomerSignals",
    "DimensionConfig",
    "DimensionScore",
    "Email",
    "Evidence",
    "HealthModel",
    "HealthSnapshot",
    "Meeting",
    "MovingAverage",
    "NormalisationTargets",
    "NpsResponse",
    "PaymentSignals",
    "PreparedModel",
    "RelationshipSignals",
    "ScoreResult",
    "Scorer",
    "SignalIndex",
    "Ticket",
    "UsageDay",
    "UsageSignals",
    "apply_hysteresis",
    "benchmark",
    "classify",
    "compile_expression",
    "compute_history",
    "compute_snapshot",
    "detect_alerts",
    "dimension_values",
    "display_round",
    "effective_weights",
    "evaluate",
    "expression_names",
    "parse_health_model",
    "score_values",
    "smooth_series",
]

__getattr__ = names_from(__name__, _MODULE_OF)
