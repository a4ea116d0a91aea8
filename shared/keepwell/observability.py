"""Powertools logger, metrics and tracer: one instance of each per container, shared by all modules."""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics, Tracer

logger = Logger()
metrics = Metrics()
tracer = Tracer()
