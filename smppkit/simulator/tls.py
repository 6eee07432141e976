"""TLS for the simulator: a server context from files, or a self-signed one made on the fly.

A self-signed pair is written to a private directory (mode 0700, the key 0600) that the
simulator deletes when it stops.
"""

from __future__ import annotations

import datetime as dt
import os
import ssl
import tempfile
from pathlib import Path

__all__ = ["client_context", "self_signed", "server_context"]


def self_signed(directory: str | Path | None = None, host: str = "127.0.0.1") -> tuple[str, str]:
    """Write a self-signed certificate and key for `host`; return (cert_path, key_path).

    Without `directory`, a new private one (0700) is made; the caller removes it.
    """
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    directory = Path(directory or tempfile.mkdtemp(prefix="smppkit-tls-"))
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "smppkit simulator")])
    now = dt.datetime.now(dt.UTC)
    try:
        alt: x509.GeneralName = x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        alt = x509.DNSName(host)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=7))
        .add_extension(x509.SubjectAlternativeName([alt, x509.DNSName("localhost")]), False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    secret = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    # created 0600, never readable by others, even for an instant
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(secret)
    return str(cert_path), str(key_path)


def server_context(cert: str, key: str) -> ssl.SSLContext:
    """A server context with the certificate (chain) `cert` and its private `key`."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    return ctx


def client_context(cafile: str) -> ssl.SSLContext:
    """A client context trusting exactly `cafile` (the simulator's certificate).

    The certificate is still verified (CERT_REQUIRED against that one file), but the host
    name is not: smpplib wraps its socket without `server_hostname`, which a context with
    `check_hostname` refuses ("check_hostname requires server_hostname").
    """
    ctx = ssl.create_default_context(cafile=cafile)
    ctx.check_hostname = False
    return ctx
