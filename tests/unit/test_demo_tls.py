"""The demo's self-signed certificate: a TLS handshake that verifies it by its file, and its reuse."""

from __future__ import annotations

import asyncio
import ssl
import stat
from datetime import UTC, datetime, timedelta

from cryptography import x509

from demo.tls import VALID_FOR, demo_certificate


async def _handshake(cert, key, server_hostname: str) -> bytes:
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(cert, key)

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"hello")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0, ssl=server_context)
    port = server.sockets[0].getsockname()[1]
    try:
        client_context = ssl.create_default_context(cafile=str(cert))
        reader, writer = await asyncio.open_connection(
            "127.0.0.1", port, ssl=client_context, server_hostname=server_hostname
        )
        data = await reader.read()
        writer.close()
        return data
    finally:
        server.close()
        await server.wait_closed()


async def test_a_client_trusting_the_file_verifies_the_demo_by_name_and_address(tmp_path):
    # given
    cert, key = demo_certificate(tmp_path / "tls")
    # when / then a verifying client completes the handshake for both names the demo is reached by
    assert await _handshake(cert, key, "localhost") == b"hello"
    assert await _handshake(cert, key, "127.0.0.1") == b"hello"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600


async def test_a_client_that_does_not_trust_it_refuses_it(tmp_path):
    cert, key = demo_certificate(tmp_path)
    other, _ = demo_certificate(tmp_path / "other")
    try:
        await _handshake_with(cert, key, other)
    except ssl.SSLCertVerificationError:
        return
    raise AssertionError("a certificate nobody trusts was accepted")


async def _handshake_with(cert, key, trusted) -> None:
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(cert, key)
    server = await asyncio.start_server(lambda r, w: w.close(), "127.0.0.1", 0, ssl=server_context)
    port = server.sockets[0].getsockname()[1]
    try:
        context = ssl.create_default_context(cafile=str(trusted))
        _, writer = await asyncio.open_connection("127.0.0.1", port, ssl=context, server_hostname="localhost")
        writer.close()
    finally:
        server.close()
        await server.wait_closed()


def test_the_certificate_is_reused_until_a_week_before_it_expires(tmp_path):
    # given
    now = datetime.now(UTC)
    cert, _ = demo_certificate(tmp_path, now=now)
    first = cert.read_bytes()
    # when / then
    assert demo_certificate(tmp_path, now=now + timedelta(days=30))[0].read_bytes() == first
    renewed = demo_certificate(tmp_path, now=now + VALID_FOR - timedelta(days=3))[0].read_bytes()
    assert renewed != first
    names = x509.load_pem_x509_certificate(renewed).extensions.get_extension_for_class(x509.SubjectAlternativeName)
    assert "localhost" in names.value.get_values_for_type(x509.DNSName)
