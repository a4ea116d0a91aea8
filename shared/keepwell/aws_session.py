"""One botocore session per thread for every AWS client of a container: pynamodb's DynamoDB client
(keepwell.storage) and the boto3 clients (keepwell.adapters.aws) are built from it.

Building a botocore session registers ~130 event handlers and loads the endpoint rules; a function whose
first request reaches DynamoDB and a queue or the bus built two, ~40 ms of CPU of its cold start
(docs/decisions/0027-cold-starts.md). Per thread, as pynamodb keeps its sessions: building clients from
one session in two threads at once is not safe.
"""

from __future__ import annotations

import threading

import botocore.session

_local = threading.local()
_generation = [0]  # bumped by reset_session: every thread builds a new session on its next use


def botocore_session() -> botocore.session.Session:
    """This thread's session."""
    if getattr(_local, "generation", None) != _generation[0]:
        _local.session = botocore.session.get_session()
        _local.generation = _generation[0]
    session: botocore.session.Session = _local.session
    return session


def reset_session() -> None:
    """Tests and the local stack switch endpoints and credentials: clients built after this use a new session."""
    _generation[0] += 1
