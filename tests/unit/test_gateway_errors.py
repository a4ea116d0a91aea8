"""The local gateway's server: a client hanging up is not an error worth a traceback (make run's terminal
and the test output stay readable); anything else still prints one."""

from __future__ import annotations

import pytest

from infra.gateway import _RequestHandler, _Server


@pytest.fixture
def server() -> _Server:
    built = _Server(("127.0.0.1", 0), _RequestHandler, bind_and_activate=False)
    yield built
    built.server_close()


@pytest.mark.parametrize("gone", [BrokenPipeError(32, "Broken pipe"), ConnectionResetError(104, "reset by peer")])
def test_a_client_that_hung_up_prints_nothing(
    server: _Server, gone: OSError, capsys: pytest.CaptureFixture[str]
) -> None:
    try:
        raise gone
    except OSError:
        server.handle_error(None, ("127.0.0.1", 50000))
    assert capsys.readouterr().err == ""


def test_any_other_failure_still_prints_its_traceback(server: _Server, capsys: pytest.CaptureFixture[str]) -> None:
    try:
        raise ValueError("a real bug")
    except ValueError:
        server.handle_error(None, ("127.0.0.1", 50000))
    assert "ValueError: a real bug" in capsys.readouterr().err
