"""Schemathesis hooks for employes-sync (loaded by scripts/contracts.sh schemathesis).

- Webhook deliveries (`/webhooks/employes` and its per-company form) whose headers were generated
  valid are signed (Standard Webhooks, with CONTRACT_WEBHOOK_SECRET), so schemathesis reaches the body parsing behind the signature instead
  of stopping at 401: schema-valid events must be accepted, schema-invalid ones refused with 400.
- Positive endpoint bodies register a public literal address for every company, and a replay's
  range is sent in order (see `_endpoint_body`).
- On the company route (`/webhooks/employes/{company_id}`), a positive case's `data.company_id`,
  when it names one, is the path's (a body naming another company is a documented 400).
- One more check, `every_response_field_is_documented`: a JSON response may hold no field its
  documented schema does not name, and a field it sends as `null` must be `required` (the server
  always sends such a field; a client generated from the document must not treat it as optional).
- One more check, `the_callers_token_is_accepted`: a request that carries the run's own token
  (CONTRACT_TOKEN) is never refused with 401 (what schemathesis's `missing_auth` warning would tell,
  which the settings leave out because a role's 403s are by design).
"""

import base64
import hashlib
import hmac
import json
import os
import time
from datetime import datetime

import schemathesis
from schemathesis.core import NOT_SET
from schemathesis.core.parameters import ParameterLocation

WEBHOOK_PATH = "/webhooks/employes"


def _key() -> bytes | None:
    secret = os.environ.get("CONTRACT_WEBHOOK_SECRET", "")
    return base64.b64decode(secret.removeprefix("whsec_")) if secret.startswith("whsec_") else None


def _body_bytes(body) -> bytes | None:
    """The bytes schemathesis sends for a JSON body (as its requests transport serializes it)."""
    if body is NOT_SET:
        return b""
    if body is None:
        return b"null"
    if isinstance(body, (dict, list, str, int, float, bool)):
        return json.dumps(body).encode("utf-8")
    return None


@schemathesis.hook
def before_call(context, case, **kwargs):
    meta = getattr(case, "_meta", None)
    # Once the stateful phase has added a company, `POST /api/sync` without a company answers 400
    # `company_required` (documented; a schema cannot say when): positive cases name the
    # simulator's company (the settings do the same for the query of GET /api/stats and
    # /api/sync/status; they cannot reach into this optional body).
    company = os.environ.get("CONTRACT_COMPANY_ID")
    positive_body = not (meta is not None and meta.is_negative_at(ParameterLocation.BODY))
    if company and case.operation.path == "/api/sync" and case.method.upper() == "POST" and positive_body:
        if case.body is NOT_SET:
            case.body = {"company_id": company}
        elif isinstance(case.body, dict) and case.body.get("company_id") is None:
            case.body = {**case.body, "company_id": company}
    # The simulator's company is the run's fixture (its milestones and employees are the test data
    # of other routes): DELETE reaches the companies the run added, never that one.
    if case.method.upper() == "DELETE" and case.operation.path == "/api/companies/{id}" and company:
        if str((case.path_parameters or {}).get("id", "")).lower() == company:
            case.path_parameters = {**case.path_parameters, "id": "00000000-0000-4000-8000-000000000000"}
    if positive_body and isinstance(case.body, dict):
        case.body = _endpoint_body(case.operation.path, case.method.upper(), case.body)
    if not case.operation.path.startswith(WEBHOOK_PATH) or case.method.upper() != "POST":
        return
    # The company route refuses a body naming another company than its path (documented; a schema
    # cannot say "equal to the path"): positive cases that name one name the path's company.
    path_company = (case.path_parameters or {}).get("company_id")
    if path_company and positive_body and isinstance(case.body, dict) and isinstance(case.body.get("data"), dict):
        if case.body["data"].get("company_id") is not None:
            case.body = {**case.body, "data": {**case.body["data"], "company_id": str(path_company)}}
    key = _key()
    negative_headers = meta is not None and meta.is_negative_at(ParameterLocation.HEADER)
    body = _body_bytes(case.body)
    headers = case.headers or {}
    if key is None or negative_headers or body is None or "webhook-id" not in headers:
        return
    timestamp = str(int(time.time()))
    signed = f"{headers['webhook-id']}.{timestamp}.".encode() + body
    signature = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    headers["webhook-timestamp"] = timestamp
    headers["webhook-signature"] = f"v1,{signature}"
    case.headers = headers


# A public literal address: no DNS, and nothing the SSRF guard refuses.
PUBLIC_ENDPOINT_URL = "https://93.184.215.14/hook"


def _endpoint_body(path: str, method: str, body: dict) -> dict:
    """Positive endpoint bodies as the service can take them. Whether a URL's host resolves to a
    public address, whether a company exists, and whether `until` follows `since` are not things a
    schema can say (each refused with a documented 400): positive cases register a public literal
    address for every company, and send a replay's range in order."""
    body = dict(body)
    if path in ("/api/endpoints", "/api/endpoints/{id}") and method in ("POST", "PATCH"):
        if isinstance(body.get("url"), str):
            body["url"] = PUBLIC_ENDPOINT_URL
        if method == "POST" and body.get("company_id") is not None:
            # The stateful phase may have deleted the simulator's company: every company's.
            body["company_id"] = None
    if path == "/api/endpoints/{id}/replay" and method == "POST":
        since, until = body.get("since"), body.get("until")
        if isinstance(since, str) and isinstance(until, str):
            try:
                if datetime.fromisoformat(until) < datetime.fromisoformat(since):
                    body["since"], body["until"] = until, since
            except (ValueError, TypeError):
                body.pop("until")
    return body


def _resolve(schema, root):
    while isinstance(schema, dict) and "$ref" in schema:
        target = root
        for part in schema["$ref"].removeprefix("#/").split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        schema = target
    return schema


def _branches(schema, root):
    """`schema` and every schema merged into it (`allOf`, `oneOf`, `anyOf`, `if`/`then`/`else`), resolved."""
    schema = _resolve(schema, root)
    if not isinstance(schema, dict):
        return []
    found = [schema]
    for keyword in ("allOf", "oneOf", "anyOf"):
        for sub in schema.get(keyword, []):
            found.extend(_branches(sub, root))
    for keyword in ("if", "then", "else"):
        if keyword in schema:
            found.extend(_branches(schema[keyword], root))
    return found


def _problems(value, schemas, root, path):
    """Fields of `value` none of `schemas` names, and `null` fields none of them requires."""
    branches = [b for s in schemas for b in _branches(s, root)]
    problems = []
    if isinstance(value, dict):
        open_map = any(b.get("additionalProperties") not in (None, False) for b in branches)
        for name, item in value.items():
            declared = [b["properties"][name] for b in branches if name in b.get("properties", {})]
            if not declared and not open_map:
                problems.append(f"{path}/{name}: sent, but the schema has no such field")
                continue
            if item is None and not any(name in b.get("required", []) for b in branches):
                problems.append(f"{path}/{name}: sent as null, so always sent, but not `required` in the schema")
            subschemas = declared or [b["additionalProperties"] for b in branches if isinstance(b.get("additionalProperties"), dict)]
            problems.extend(_problems(item, subschemas, root, f"{path}/{name}"))
    elif isinstance(value, list):
        items = [b["items"] for b in branches if isinstance(b.get("items"), dict)]
        for i, item in enumerate(value):
            problems.extend(_problems(item, items, root, f"{path}/{i}"))
    return problems


@schemathesis.check
def every_response_field_is_documented(ctx, response, case):
    if "json" not in response.headers.get("content-type", [""])[0]:
        return None
    responses = case.operation.definition.raw.get("responses", {})
    documented = responses.get(str(response.status_code)) or responses.get("default")
    if documented is None:
        return None  # status_code_conformance reports it
    root = case.operation.schema.raw_schema
    schema = _resolve(documented, root).get("content", {}).get("application/json", {}).get("schema")
    if schema is None:
        return None
    problems = _problems(response.json(), [schema], root, "")
    if problems:
        raise AssertionError("The response holds what its schema does not say:\n" + "\n".join(problems))
    return None


@schemathesis.check
def the_callers_token_is_accepted(ctx, response, case):
    token = os.environ.get("CONTRACT_TOKEN")
    if not token or response.status_code != 401:
        return None
    security = case.operation.definition.raw.get("security", case.operation.schema.raw_schema.get("security", []))
    if not any("bearer" in requirement for requirement in security):
        return None  # not a bearer-token route (webhooks are signed instead)
    sent = response.request.headers.get("Authorization")
    if sent == f"Bearer {token}":
        raise AssertionError("The run's own token was refused with 401")
    return None

