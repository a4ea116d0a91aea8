"""The health engine: signals -> dimension values -> weighted score, bands, smoothing, explanations,
snapshots and alerts. Pure: no AWS, no storage. See docs/health-model.md."""

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
