"""Settings fail fast: a function missing a required setting refuses to start and names the variable,
instead of running with an empty default that skips a check or a queue (keepwell/settings.py)."""

from __future__ import annotations

import os
import runpy
import subprocess
import sys
from collections.abc import Iterator

import pytest

from infra.functions import handler_spec
from infra.template import ROOT
from keepwell.settings import MissingSettings, get_settings, reset_settings

COMMON = ("TABLE_NAME", "EVENT_BUS_NAME", "SCORING_QUEUE_URL", "PLAYBOOK_QUEUE_URL", "WEBHOOK_QUEUE_URL")


@pytest.fixture(autouse=True)
def fresh_settings() -> Iterator[None]:
    reset_settings()
    yield
    reset_settings()


def test_every_common_setting_is_read_from_its_variable() -> None:
    settings = get_settings()
    assert settings.table_name == os.environ["TABLE_NAME"]
    assert settings.scoring_queue_url == os.environ["SCORING_QUEUE_URL"]
    assert settings.is_local


@pytest.mark.parametrize("variable", COMMON)
def test_a_missing_common_setting_is_refused_by_name(variable: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(variable)
    with pytest.raises(MissingSettings) as refused:
        get_settings()
    assert refused.value.variables == [variable]
    assert variable in str(refused.value)


def test_an_empty_setting_counts_as_missing_and_every_one_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EVENT_BUS_NAME", "")
    monkeypatch.delenv("WEBHOOK_QUEUE_URL")
    with pytest.raises(MissingSettings) as refused:
        get_settings()
    assert refused.value.variables == ["EVENT_BUS_NAME", "WEBHOOK_QUEUE_URL"]


def test_a_function_requires_its_own_settings_by_variable_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JWT_ISSUER", "https://issuer.example")
    monkeypatch.delenv("JWKS_URL", raising=False)
    with pytest.raises(MissingSettings) as refused:
        get_settings().require("jwt_issuer", "jwks_url")
    assert refused.value.variables == ["JWKS_URL"]


def test_the_deployed_authorizer_refuses_to_start_without_its_issuer_and_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    code_dir, handler = handler_spec("AuthorizerFunction")
    module_file = f"{code_dir}/{handler.rsplit('.', 1)[0]}.py"
    monkeypatch.setenv("STAGE", "prod")
    monkeypatch.delenv("JWT_ISSUER", raising=False)
    monkeypatch.delenv("JWKS_URL", raising=False)
    with pytest.raises(MissingSettings, match="JWKS_URL, JWT_ISSUER"):
        runpy.run_path(module_file)
    reset_settings()
    monkeypatch.setenv("STAGE", "local")  # the local stack signs its own HS256 tokens: no JWKS needed
    assert "handler" in runpy.run_path(module_file)


def test_a_function_started_without_a_queue_url_fails_its_cold_start_naming_it() -> None:
    """The scorer's module, imported as Lambda's cold start does, in an environment lacking one variable."""
    code_dir, handler = handler_spec("ScorerFunction")
    env = {k: v for k, v in os.environ.items() if k != "SCORING_QUEUE_URL"}
    env["PYTHONPATH"] = f"{code_dir}:{ROOT / 'shared'}"
    started = subprocess.run(
        [sys.executable, "-c", f"import {handler.rsplit('.', 1)[0]}"],
        cwd=code_dir,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert started.returncode != 0
    assert "MissingSettings: missing required setting(s): SCORING_QUEUE_URL" in started.stderr


def test_the_region_is_lambdas_then_the_sdks_default_then_us_east_1(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-west-2")
    assert get_settings().region == "eu-west-1"
    reset_settings()
    monkeypatch.delenv("AWS_REGION")
    assert get_settings().region == "us-west-2"
    reset_settings()
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    assert get_settings().region == "us-east-1"


def test_a_variable_is_found_whatever_the_case_of_its_name(monkeypatch: pytest.MonkeyPatch) -> None:
    table = os.environ["TABLE_NAME"]
    monkeypatch.delenv("TABLE_NAME")
    monkeypatch.setenv("Table_Name", table)
    assert get_settings().table_name == table
