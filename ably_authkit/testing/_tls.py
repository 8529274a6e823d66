"""A throwaway self-signed certificate for the emulator's ``tls=True`` mode.

The ``ably`` package refuses basic auth over plain HTTP (40103), so tests of basic auth
and of ``revoke_tokens`` need TLS; clients trust this certificate through
``SSL_CERT_FILE`` (httpx) or ``NODE_EXTRA_CA_CERTS`` (Node).
"""

from __future__ import annotations

import ipaddress
import os
from datetime import datetime, timedelta, timezone

__all__ = ["self_signed"]


def self_signed(directory: str, host: str) -> tuple[str, str]:
    """Write ``cert.pem`` and ``key.pem`` for ``host``, ``127.0.0.1`` and ``localhost``
    into ``directory``; return their paths."""
    from ably_authkit._extras import import_from

    import_from("cryptography", "emulator", "AblyEmulator(tls=True)")
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    private_key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ably_authkit emulator")])
    names: list[x509.GeneralName] = [
        x509.DNSName("localhost"),
        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
    ]
    try:
        names.append(x509.IPAddress(ipaddress.ip_address(host)))
    except ValueError:
        names.append(x509.DNSName(host))
    now = datetime.now(timezone.utc)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(private_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName(list(dict.fromkeys(names))), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(private_key, hashes.SHA256())
    )
    cert_path = os.path.join(directory, "cert.pem")
    key_path = os.path.join(directory, "key.pem")
    with open(cert_path, "wb") as file:
        file.write(certificate.public_bytes(serialization.Encoding.PEM))
    with open(key_path, "wb") as file:
        file.write(
            private_key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
    return cert_path, key_path
