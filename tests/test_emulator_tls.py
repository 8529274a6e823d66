"""The emulator's ``tls=True`` certificate is a proper server certificate: a leaf (not a
CA; digitalSignature; serverAuth) for the loopback names, signed by a CA of this one
emulator that may sign nothing but loopback names (path length 0, name constraints) and
whose key is never written. The `ably` package (httpx, ``SSL_CERT_FILE``) and Node
(``NODE_EXTRA_CA_CERTS``) both trust it through ``emulator.ca_file``."""

from __future__ import annotations

import ipaddress
import os
import shutil
import ssl
import subprocess
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

from ably_authkit import request_token, revoke_tokens
from ably_authkit.testing import AblyEmulator


def _chain(emulator: AblyEmulator) -> list[x509.Certificate]:
    assert emulator.ca_file
    return x509.load_pem_x509_certificates(Path(emulator.ca_file).read_bytes())


def test_the_served_certificate_is_a_leaf_for_server_auth(tls_emulator: AblyEmulator) -> None:
    host, port = tls_emulator.host, int(tls_emulator.url.rsplit(":", 1)[1])
    served = x509.load_pem_x509_certificate(ssl.get_server_certificate((host, port)).encode())
    leaf, ca = _chain(tls_emulator)
    assert served == leaf
    constraints = leaf.extensions.get_extension_for_class(x509.BasicConstraints)
    assert constraints.critical and constraints.value.ca is False
    usage = leaf.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.digital_signature and not usage.key_cert_sign and not usage.crl_sign
    extended = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(extended) == [ExtendedKeyUsageOID.SERVER_AUTH]
    names = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "localhost" in names.get_values_for_type(x509.DNSName)
    assert ipaddress.ip_address("127.0.0.1") in names.get_values_for_type(x509.IPAddress)
    assert leaf.issuer == ca.subject and leaf.issuer != leaf.subject


def test_its_ca_can_sign_only_leaves_for_loopback_names(tls_emulator: AblyEmulator) -> None:
    _, ca = _chain(tls_emulator)
    constraints = ca.extensions.get_extension_for_class(x509.BasicConstraints)
    assert constraints.critical and constraints.value.ca and constraints.value.path_length == 0
    limits = ca.extensions.get_extension_for_class(x509.NameConstraints)
    assert limits.critical
    permitted = limits.value.permitted_subtrees or []
    assert x509.DNSName("localhost") in permitted
    assert x509.IPAddress(ipaddress.ip_network("127.0.0.0/8")) in permitted
    assert not any(
        isinstance(name, x509.DNSName) and name.value not in ("localhost", tls_emulator.host)
        for name in permitted
    )
    # Its private key is nowhere on disk: only the leaf's key is written.
    folder = Path(tls_emulator.ca_file or "").parent
    assert sorted(path.name for path in folder.iterdir()) == ["cert.pem", "key.pem"]


def test_python_trusts_it_with_strict_x509_checks(tls_emulator: AblyEmulator) -> None:
    import httpx

    context = ssl.create_default_context(cafile=tls_emulator.ca_file)
    context.verify_flags |= ssl.VERIFY_X509_STRICT
    for base in (tls_emulator.url, tls_emulator.url.replace("127.0.0.1", "localhost")):
        assert httpx.get(f"{base}/time", verify=context, timeout=10).status_code == 200


def test_the_ably_package_trusts_it_through_ssl_cert_file(
    tls_emulator: AblyEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert tls_emulator.ca_file
    monkeypatch.setenv("SSL_CERT_FILE", tls_emulator.ca_file)
    key = tls_emulator.create_key(revocable=True)
    # Basic auth, which the ably package sends only over TLS.
    (result,) = revoke_tokens(key, client_ids=["mallory"], endpoint=tls_emulator.url)
    assert result.ok
    assert request_token(key, client_id="ann", endpoint=tls_emulator.url).client_id == "ann"


_NODE_GET = (
    "require('https').get(process.argv[1], (r) => { console.log(r.statusCode); r.resume(); })"
    ".on('error', (e) => { console.log(e.code); });"
)


def _node_get(url: str, ca_file: str | None) -> str:
    env = {k: v for k, v in os.environ.items() if k != "NODE_EXTRA_CA_CERTS"}
    if ca_file is not None:
        env["NODE_EXTRA_CA_CERTS"] = ca_file
    answer = subprocess.run(
        [shutil.which("node") or "node", "-e", _NODE_GET, url],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
        env=env,
    )
    return answer.stdout.strip()


def test_node_trusts_it_through_node_extra_ca_certs(tls_emulator: AblyEmulator) -> None:
    assert tls_emulator.ca_file
    for base in (tls_emulator.url, tls_emulator.url.replace("127.0.0.1", "localhost")):
        assert _node_get(f"{base}/time", tls_emulator.ca_file) == "200"
    # And only through it: without the CA, Node refuses the chain.
    assert _node_get(f"{tls_emulator.url}/time", None) != "200"


_ABLY_JS_TOKEN = """
const Ably = require('ably');
const options = JSON.parse(process.argv[1]);
new Ably.Rest(options).auth.requestToken({ clientId: 'ann' }).then(
  (details) => { console.log(details.clientId); process.exit(0); },
  (error) => { console.log(String(error.code || error.message)); process.exit(0); },
);
"""


def test_ably_js_gets_a_token_over_tls_with_basic_auth(tls_emulator: AblyEmulator) -> None:
    import json

    assert tls_emulator.ca_file
    key = tls_emulator.create_key()
    options = {**tls_emulator.client_options("ably-js"), "key": f"{key.name}:{key.secret}"}
    answer = subprocess.run(
        [shutil.which("node") or "node", "-e", _ABLY_JS_TOKEN, json.dumps(options)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
        cwd=Path(__file__).parent / "js",
        env={**os.environ, "NODE_EXTRA_CA_CERTS": tls_emulator.ca_file},
    )
    assert answer.stdout.strip() == "ann", answer.stderr
