"""A self-signed TLS certificate for the demo's HTTPS (``./dev demo --https``), kept under its data dir.

PACT hosts answer over HTTPS only, so a PACT client (or the conformance suite) pointed at the demo
needs TLS. The certificate names ``localhost`` and ``127.0.0.1``; it is its own trust anchor, so a
client trusts it by its file (``curl --cacert``, ``SSL_CERT_FILE``). It is made once and reused until
it comes within a week of expiry.
"""

from __future__ import annotations

import ipaddress
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

VALID_FOR = timedelta(days=365)
RENEW_BEFORE = timedelta(days=7)
DNS_NAMES = ("localhost",)
ADDRESSES = ("127.0.0.1", "::1")


def _still_good(cert_path: Path, key_path: Path, now: datetime) -> bool:
    if not (cert_path.exists() and key_path.exists()):
        return False
    try:
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    except ValueError:
        return False
    return cert.not_valid_after_utc - RENEW_BEFORE > now


def demo_certificate(folder: Path, *, now: datetime | None = None) -> tuple[Path, Path]:
    """(certificate, private key) PEM files in ``folder``: the existing ones while good, else new ones."""
    now = now or datetime.now(UTC)
    folder.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = folder / "demo-cert.pem", folder / "demo-key.pem"
    if _still_good(cert_path, key_path, now):
        return cert_path, key_path
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [x509.NameAttribute(NameOID.COMMON_NAME, "cbamx demo"), x509.NameAttribute(NameOID.ORGANIZATION_NAME, "cbamx")]
    )
    public = key.public_key()
    names: list[x509.GeneralName] = [x509.DNSName(n) for n in DNS_NAMES]
    names += [x509.IPAddress(ipaddress.ip_address(a)) for a in ADDRESSES]
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + VALID_FOR)
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        # its own trust anchor: a CA for itself alone (path length 0), so strict verifiers accept it
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(public), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_bytes = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    # the key is written owner-only before anything is in it
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(key_bytes)
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return cert_path, key_path
