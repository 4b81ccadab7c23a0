"""Standard Webhooks signatures: the published example, an independent computation, and refusals."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

import pytest

from backend.feeds.signing import InvalidSignature, new_secret, sign, signed_headers, verify_signature

# the example of the Standard Webhooks libraries (standard-webhooks/standard-webhooks, libraries' tests)
EXAMPLE_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
EXAMPLE_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
EXAMPLE_TIMESTAMP = 1614265330
EXAMPLE_BODY = b'{"test": 2432232314}'
EXAMPLE_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def independent_signature(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    key = base64.b64decode(secret.split("_", 1)[1])
    digest = hmac.new(key, f"{message_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def test_the_signature_matches_the_standard_webhooks_example():
    assert sign(EXAMPLE_SECRET, EXAMPLE_ID, EXAMPLE_TIMESTAMP, EXAMPLE_BODY) == EXAMPLE_SIGNATURE
    assert independent_signature(EXAMPLE_SECRET, EXAMPLE_ID, EXAMPLE_TIMESTAMP, EXAMPLE_BODY) == EXAMPLE_SIGNATURE
    headers = {
        "webhook-id": EXAMPLE_ID,
        "webhook-timestamp": str(EXAMPLE_TIMESTAMP),
        "webhook-signature": EXAMPLE_SIGNATURE,
    }
    verify_signature(EXAMPLE_SECRET, headers, EXAMPLE_BODY, now=EXAMPLE_TIMESTAMP + 10)


def test_a_new_secret_signs_as_an_independent_computation_does():
    secret = new_secret()
    assert secret.startswith("whsec_") and len(base64.b64decode(secret[6:])) == 32
    now = int(time.time())
    headers = signed_headers([secret], "evt-1", now, b'{"a":1}')
    assert headers["webhook-signature"] == independent_signature(secret, "evt-1", now, b'{"a":1}')
    assert headers["content-type"] == "application/cloudevents+json; charset=utf-8"
    verify_signature(secret, {k.upper(): v for k, v in headers.items()}, b'{"a":1}')


def test_after_a_rotation_either_secret_verifies():
    old, new = new_secret(), new_secret()
    now = int(time.time())
    headers = signed_headers([new, old], "evt-2", now, b"{}")
    assert len(headers["webhook-signature"].split(" ")) == 2
    verify_signature(old, headers, b"{}")
    verify_signature(new, headers, b"{}")


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"body": b'{"test": 2432232315}'}, "no signature matches"),
        ({"secret": new_secret()}, "no signature matches"),
        ({"now": EXAMPLE_TIMESTAMP + 301}, "outside the tolerance"),
        ({"now": EXAMPLE_TIMESTAMP - 301}, "outside the tolerance"),
        ({"drop": "webhook-signature"}, "are required"),
        ({"headers": {"webhook-timestamp": "soon"}}, "whole number"),
        ({"headers": {"webhook-signature": "v2," + EXAMPLE_SIGNATURE[3:]}}, "no signature matches"),
    ],
)
def test_a_message_not_signed_with_the_secret_or_too_old_is_refused(change, reason):
    headers = {
        "webhook-id": EXAMPLE_ID,
        "webhook-timestamp": str(EXAMPLE_TIMESTAMP),
        "webhook-signature": EXAMPLE_SIGNATURE,
    }
    headers.update(change.get("headers", {}))
    headers.pop(change.get("drop", ""), None)
    with pytest.raises(InvalidSignature, match=reason):
        verify_signature(
            change.get("secret", EXAMPLE_SECRET),
            headers,
            change.get("body", EXAMPLE_BODY),
            now=change.get("now", EXAMPLE_TIMESTAMP),
        )
