"""Statement signatures and their offline verification, without a database."""

from __future__ import annotations

import json
import uuid

import pytest
from joserfc.jwk import ECKey

from backend.identity.keys import seal
from backend.verification import signing
from backend.verification.errors import StatementInvalid
from backend.verification.models import StatementKey, StatementKeyStatus
from backend.verification.statements import verify_statement

SECRET = "unit-test-secret"


def _key(kid: str) -> StatementKey:
    key = ECKey.generate_key("P-256", parameters={"kid": kid, "alg": "ES256", "use": "sig"})
    return StatementKey(
        kid=kid,
        tenant_id=uuid.uuid4(),
        alg="ES256",
        public_jwk=key.as_dict(private=False),
        sealed_private_jwk=seal(key.as_dict(private=True), SECRET),
        status=StatementKeyStatus.ACTIVE,
    )


def _payload(organization_id: str) -> dict[str, object]:
    return {
        "type": "cbamx.verification-statement/1",
        "opinion": "POSITIVE",
        "verifier": {
            "organization_id": organization_id,
            "jwks_uri": f"https://cbamx.example/organizations/{organization_id}/jwks.json",
        },
    }


def test_a_signed_statement_verifies_and_any_changed_byte_does_not():
    # given
    row = _key("k1")
    token = signing.sign(_payload("org"), row, secret=SECRET)
    jwks = signing.jwks_document([row])
    # then
    header, payload = signing.verify(token, jwks)
    assert header["kid"] == "k1" and header["typ"] == signing.STATEMENT_TYP
    assert payload == _payload("org")
    for at in range(0, len(token), 7):
        if token[at] == ".":
            continue
        changed = token[:at] + ("A" if token[at] != "A" else "B") + token[at + 1 :]
        with pytest.raises(StatementInvalid):
            signing.verify(changed, jwks)


def test_a_key_the_jwks_does_not_hold_or_a_same_kid_of_another_key_is_refused():
    row, other = _key("k1"), _key("k2")
    token = signing.sign(_payload("org"), row, secret=SECRET)
    with pytest.raises(StatementInvalid, match="not among"):
        signing.verify(token, signing.jwks_document([other]))
    # another organisation's key published under the same kid: the signature fails
    impostor = _key("k1")
    with pytest.raises(StatementInvalid, match="signature"):
        signing.verify(token, signing.jwks_document([impostor]))
    with pytest.raises(StatementInvalid, match="compact JWS"):
        signing.verify("not a token", signing.jwks_document([row]))


def test_offline_verification_reads_a_jwks_file_and_checks_a_urls_owner(tmp_path):
    row = _key("k1")
    organization_id = str(uuid.uuid4())
    token = signing.sign(_payload(organization_id), row, secret=SECRET)
    (tmp_path / "jwks.json").write_text(json.dumps(signing.jwks_document([row])))
    # a file: verified
    outcome = verify_statement(token, str(tmp_path / "jwks.json"))
    assert outcome.reason is None and outcome.kid == "k1" and outcome.payload == _payload(organization_id)
    # a URL of another organisation's keys: refused before anything is fetched
    outcome = verify_statement(token, f"https://cbamx.example/organizations/{uuid.uuid4()}/jwks.json")
    assert outcome.reason is not None and "not the issuing verifier's" in outcome.reason
