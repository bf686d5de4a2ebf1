"""Verify one employes-sync endpoint delivery (Standard Webhooks), with Python's standard library.

    WEBHOOK_SECRET=whsec_... WEBHOOK_ID=... WEBHOOK_TIMESTAMP=... WEBHOOK_SIGNATURE='v1,...' \
        python3 examples/verify_webhook.py < body.json      # exit 0: verified, 1: refused

In a receiver, call `verify` with the raw body bytes (before any JSON parsing) and the three
headers; answer 401 when it returns False. The suite runs this file against a real delivery
(tests/integration/endpoints/guide.rs).
"""

import base64
import hashlib
import hmac
import os
import sys
import time

TOLERANCE_SECS = 5 * 60


def verify(secret: str, msg_id: str, timestamp: str, signatures: str, body: bytes, now: float | None = None) -> bool:
    """HMAC-SHA256 of "{id}.{timestamp}.{body}" under the base64 key after `whsec_`; any of the
    space-separated `v1,<base64>` signatures may match (two during a rotation's 24 h overlap)."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    now = time.time() if now is None else now
    try:
        if abs(now - int(timestamp)) > TOLERANCE_SECS:
            return False
    except ValueError:
        return False
    signed = f"{msg_id}.{timestamp}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    given = [s.removeprefix("v1,") for s in signatures.split(" ") if s.startswith("v1,")]
    return any(hmac.compare_digest(s, expected) for s in given)


if __name__ == "__main__":
    env = os.environ
    ok = verify(env["WEBHOOK_SECRET"], env["WEBHOOK_ID"], env["WEBHOOK_TIMESTAMP"], env["WEBHOOK_SIGNATURE"], sys.stdin.buffer.read())
    print("verified" if ok else "refused")
    sys.exit(0 if ok else 1)
