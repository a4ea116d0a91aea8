"""The receiver code in README.md ("Verifying Keepwell webhooks") accepts what Keepwell signs and refuses a
tampered body, so the published example cannot rot. It runs on loopback with the real wall clock (the
standardwebhooks library checks the timestamp against it)."""

from __future__ import annotations

import re
import threading
import time
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from infra.template import ROOT
from keepwell.domain.signatures.outbound import envelope_bytes, generate_secret, sign


def readme_receiver(secret: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Execute the README's Python block up to (not including) its serve_forever line."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Verifying Keepwell webhooks", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match is not None, "the README section has no python block"
    code = "\n".join(line for line in match.group(1).splitlines() if "serve_forever" not in line)
    monkeypatch.setenv("KEEPWELL_WEBHOOK_SECRET", secret)
    namespace: dict[str, Any] = {"__name__": "readme_receiver"}
    exec(compile(code, "README.md", "exec"), namespace)
    return namespace


def test_the_readme_receiver_verifies_keepwell_signatures_and_refuses_tampering(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from http.server import HTTPServer

    secret = generate_secret()
    receiver = readme_receiver(secret, monkeypatch)
    server = HTTPServer(("127.0.0.1", 0), receiver["KeepwellReceiver"])
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/"
        body = envelope_bytes("customer.health.band_changed", datetime.now(UTC), {"band": "red"})
        headers = sign(secret, "msg_readme", int(time.time()), body)
        with httpx.Client(trust_env=False) as client:
            accepted = client.post(url, content=body, headers=headers)
            tampered = client.post(url, content=body.replace(b"red", b"green"), headers=headers)
        assert accepted.status_code == 204
        assert tampered.status_code == 400
        assert receiver["seen"] == {"msg_readme"}
    finally:
        server.shutdown()
        server.server_close()
