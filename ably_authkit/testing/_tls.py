"""A throwaway certificate for the emulator's ``tls=True`` mode.

The ``ably`` package refuses basic auth over plain HTTP (40103), so tests of basic auth
and of ``revoke_tokens`` need TLS; clients trust it through ``SSL_CERT_FILE`` (httpx) or
``NODE_EXTRA_CA_CERTS`` (Node).

What is served is a proper server certificate (a leaf: not a CA, ``digitalSignature``
only, ``serverAuth`` only, valid for the loopback names and the emulator's host), signed
by a CA made for this one emulator. The CA may sign no further CA (path length 0), only
names of this machine's loopback and the emulator's host (name constraints), and its
private key is never written anywhere: it signs the leaf and is dropped, so trusting it
trusts this one certificate and nothing else. A self-signed CA served directly, as before,
was a trust anchor that anyone holding its key file could sign any name with.
"""

from __future__ import annotations

import ipaddress
import os
from datetime import datetime, timedelta, timezone

__all__ = ["self_signed"]

_LOOPBACK_NETWORKS = ("127.0.0.0/8", "::1/128")


def self_signed(directory: str, host: str) -> tuple[str, str]:
    """Write ``cert.pem`` (the leaf for ``host``, ``127.0.0.1``, ``::1`` and ``localhost``,
    then the CA that signed it) and ``key.pem`` (the leaf's key) into ``directory``;
    return their paths. ``cert.pem`` is both the chain to serve and the file to trust
    (its CA is the trust anchor)."""
    from ably_authkit._extras import import_from

    import_from("cryptography", "emulator", "AblyEmulator(tls=True)")
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    names: list[x509.GeneralName] = [
        x509.DNSName("localhost"),
        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
        x509.IPAddress(ipaddress.ip_address("::1")),
    ]
    permitted: list[x509.GeneralName] = [
        x509.DNSName("localhost"),
        *(x509.IPAddress(ipaddress.ip_network(net)) for net in _LOOPBACK_NETWORKS),
    ]
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        names.append(x509.DNSName(host))
        permitted.append(x509.DNSName(host))
    else:
        names.append(x509.IPAddress(address))
        if not address.is_loopback:
            permitted.append(x509.IPAddress(ipaddress.ip_network(address)))
    now = datetime.now(timezone.utc)
    not_before, not_after = now - timedelta(days=1), now + timedelta(days=30)

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name(
        [x509.NameAttribute(NameOID.COMMON_NAME, "ably_authkit emulator CA (one emulator only)")]
    )
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.NameConstraints(
                permitted_subtrees=list(dict.fromkeys(permitted)), excluded_subtrees=None
            ),
            critical=True,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )

    leaf_key = ec.generate_private_key(ec.SECP256R1())
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ably_authkit emulator")]))
        .issuer_name(ca_name)
        .public_key(leaf_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.SubjectAlternativeName(list(dict.fromkeys(names))), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(leaf_key.public_key()), critical=False
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    del ca_key  # never written: the CA signs this leaf and nothing else

    cert_path = os.path.join(directory, "cert.pem")
    key_path = os.path.join(directory, "key.pem")
    with open(cert_path, "wb") as file:
        file.write(leaf.public_bytes(serialization.Encoding.PEM))
        file.write(ca.public_bytes(serialization.Encoding.PEM))
    with open(key_path, "wb") as file:
        file.write(
            leaf_key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
    return cert_path, key_path
