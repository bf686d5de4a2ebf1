"""Schemathesis hooks for employes-sync (loaded by scripts/contracts.sh schemathesis).

- Webhook deliveries whose headers were generated valid are signed (Standard Webhooks, with
  CONTRACT_WEBHOOK_SECRET), so schemathesis reaches the body parsing behind the signature instead
  of stopping at 401: schema-valid events must be accepted, schema-invalid ones refused with 400.
- One more check, `every_response_field_is_documented`: a JSON response may hold no field its
  documented schema does not name, and a field it sends as `null` must be `required` (the server
  always sends such a field; a client generated from the document must not treat it as optional).
"""

import base64
import hashlib
import hmac
import json
import os
import time

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


def _integral_floats_as_ints(value):
    """48.0 → 48: the server's integer fields (serde's u32) refuse a JSON number with a fraction
    part even when it is zero. Known gap, listed in the issue notes; only bodies are normalised."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _integral_floats_as_ints(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_integral_floats_as_ints(v) for v in value]
    return value


@schemathesis.hook
def before_call(context, case, **kwargs):
    meta = getattr(case, "_meta", None)
    # A generated `cursor` can never be a `next_cursor` a list gave out (cursors are opaque, and
    # the document says a foreign one is a 400): positive cases page from the start instead.
    if case.query and "cursor" in case.query and not (meta is not None and meta.is_negative_at(ParameterLocation.QUERY)):
        case.query = {k: v for k, v in case.query.items() if k != "cursor"}
    if case.body is not NOT_SET and not (meta is not None and meta.is_negative_at(ParameterLocation.BODY)):
        case.body = _integral_floats_as_ints(case.body)
    # Once the stateful phase has added a company, routes that take an optional company_id answer
    # 400 company_required without one (the document says so; it cannot say when): positive cases
    # name the simulator's company.
    company = os.environ.get("CONTRACT_COMPANY_ID")
    negative_query = meta is not None and meta.is_negative_at(ParameterLocation.QUERY)
    if company and case.method.upper() == "GET" and case.operation.path in ("/api/stats", "/api/sync/status") and not negative_query:
        query = dict(case.query or {})
        query.setdefault("company_id", company)
        case.query = query
    if case.operation.path != WEBHOOK_PATH or case.method.upper() != "POST":
        return
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
