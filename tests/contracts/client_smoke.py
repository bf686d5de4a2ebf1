"""A client generated from the served OpenAPI document (openapi-python-client) does a user's day:
request a sync, follow it to its end, list the changes and page through them, list the sessions,
ask for one unknown session. Run by `scripts/contracts.sh python-client URL TOKEN` (the integration
test `contracts::client`), with the generated package `employes_sync_client` on PYTHONPATH.

Operations that arrive later are used as soon as the document has them: cursor paging (a `cursor`
parameter and `next_cursor` in lists), `list_companies`, `list_milestones`.

Usage: client_smoke.py URL TOKEN
"""

import importlib
import inspect
import sys
import time
import uuid

from employes_sync_client import AuthenticatedClient
from employes_sync_client.api.changes import list_changes
from employes_sync_client.api.sessions import get_session, list_sessions
from employes_sync_client.api.sync import get_sync_status, request_sync
from employes_sync_client.models import (
    ChangeList,
    ErrorBody,
    Requested,
    SessionList,
    SessionView,
    StatusView,
    SyncBody,
)
from employes_sync_client.types import UNSET

FINAL = {"completed", "completed_with_errors", "failed"}


def step(text):
    print(f"client smoke: {text}", flush=True)


def expect(value, kind, what):
    assert isinstance(value, kind), f"{what}: expected {kind.__name__}, got {value!r}"
    return value


def follow(client, session_id, deadline_secs=120):
    """Poll the session until it ends."""
    deadline = time.monotonic() + deadline_secs
    while True:
        session = expect(get_session.sync(client=client, id=session_id), SessionView, "GET /api/sync/sessions/{id}")
        if session.status.value in FINAL:
            return session
        assert time.monotonic() < deadline, f"session {session_id} still {session.status.value} after {deadline_secs} s"
        time.sleep(0.2)


def pages(client, operation, items, limit, **filters):
    """Every item of a list, a page of `limit` at a time: with the cursor once the operation has
    one (`cursor`, `next_cursor`), else the one page the API gives."""
    has_cursor = "cursor" in inspect.signature(operation.sync).parameters
    seen, cursor, count = [], None, 0
    while True:
        extra = {"cursor": cursor} if cursor else {}
        page = operation.sync(client=client, limit=limit, **filters, **extra)
        batch = items(page)
        assert len(batch) <= limit, f"{operation.__name__}: {len(batch)} items for limit={limit}"
        seen.extend(batch)
        count += 1
        cursor = getattr(page, "next_cursor", None) if has_cursor else None
        if cursor in (None, UNSET):
            return seen, count


def optional_operation(module, name):
    """`employes_sync_client.api.<module>.<name>` when the document has it."""
    try:
        return importlib.import_module(f"employes_sync_client.api.{module}.{name}")
    except ModuleNotFoundError:
        return None


url, token = sys.argv[1], sys.argv[2]
client = AuthenticatedClient(base_url=url, token=token, raise_on_unexpected_status=True, timeout=30.0)

companies = optional_operation("companies", "list_companies")
if companies:
    listed = companies.sync(client=client)
    step(f"{len(listed.companies)} companies")
    assert listed.companies, "no company is listed"

step("request a full sync (no body)")
requested = expect(request_sync.sync(client=client), Requested, "POST /api/sync")
session = follow(client, requested.session_id)
assert session.status.value == "completed", f"the full sync ended {session.status.value}: {session.errors}"
assert [s.stage.value for s in session.stages] == ["snapshot", "history", "changes"], session.stages
step(f"session {session.id} completed: {session.employees_processed} employees, {session.changes_detected} changes")

status = expect(get_sync_status.sync(client=client), StatusView, "GET /api/sync/status")
assert status.status.value == "current", status.status
assert status.last_session.id == session.id

everything = expect(list_changes.sync(client=client, limit=500), ChangeList, "GET /api/changes")
assert everything.changes, "the first sync of the simulator's data set records changes"
times = [c.detected_at for c in everything.changes]
assert times == sorted(times, reverse=True), "changes are not newest first"
paged, count = pages(client, list_changes, lambda page: expect(page, ChangeList, "GET /api/changes").changes, limit=2)
if "cursor" in inspect.signature(list_changes.sync).parameters:
    assert [c.id for c in paged] == [c.id for c in everything.changes], "cursor paging lost or repeated changes"
    step(f"paged through {len(paged)} changes in {count} pages")
else:
    assert [c.id for c in paged] == [c.id for c in everything.changes[:2]], "limit=2 is not the newest two"
    step(f"{len(everything.changes)} changes; limit=2 gives the newest two (no cursor paging in this document yet)")

one = everything.changes[0]
step(f"targeted sync of employee {one.employee_id}")
targeted = expect(
    request_sync.sync(client=client, body=SyncBody(employee_ids=[one.employee_id])), Requested, "POST /api/sync"
)
assert follow(client, targeted.session_id).scope.value == "employees"
of_employee = expect(list_changes.sync(client=client, employee_id=one.employee_id), ChangeList, "GET /api/changes")
assert all(c.employee_id == one.employee_id for c in of_employee.changes)

sessions, _ = pages(client, list_sessions, lambda page: expect(page, SessionList, "GET /api/sync/sessions").sessions, limit=100)
ids = [s.id for s in sessions]
assert session.id in ids and targeted.session_id in ids, "the two sessions are not listed"
step(f"{len(sessions)} sessions listed")

milestones = optional_operation("milestones", "list_milestones")
if milestones:
    step(f"{len(milestones.sync(client=client).milestones)} milestones")

unknown = get_session.sync_detailed(client=client, id=uuid.uuid4())
assert unknown.status_code == 404 and isinstance(unknown.parsed, ErrorBody), unknown
assert unknown.parsed.error == "not_found"
step("done")
