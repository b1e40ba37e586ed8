"""The SSRF guard: refused before any connection; the checked address is the one connected
to (Host header and name kept); redirects are not followed. Only loopback traffic."""

import ipaddress
import socket

import pytest

from accounts.webhooks.transport import (
    DeliveryRefused,
    address_refusal,
    http_post,
    resolve_checked,
    target_parse,
)

TIMEOUTS = {"connect_timeout_s": 3, "read_timeout_s": 10, "max_response_bytes": 64 * 1024}


@pytest.fixture
def connections(monkeypatch):
    """Every outgoing TCP connection attempt of this process, recorded; non-loopback ones
    are stopped before they leave (the test fails on them anyway)."""
    attempts: list = []
    real_connect = socket.socket.connect

    def connect(sock, address):
        attempts.append(address)
        host = address[0] if isinstance(address, tuple) else address
        if not ipaddress.ip_address(host).is_loopback:
            raise AssertionError(f"a connection to {address} was attempted")
        return real_connect(sock, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    return attempts


def post(url: str, *, allowed: list[str] | None = None, resolver=socket.getaddrinfo):
    return http_post(
        url=url,
        body=b"{}",
        headers={},
        allowed_private_hosts=allowed or [],
        resolver=resolver,
        **TIMEOUTS,
    )


def test_a_private_address_is_refused_without_any_connection(connections):
    result = post("http://10.0.0.1/hook")

    assert result.status_code is None
    assert result.error.startswith("refused:")
    assert "10.0.0.1 is a private address" in result.error
    assert connections == []


def test_loopback_is_refused_unless_its_host_is_allowed(connections, receiver):
    refused = post(receiver.url())
    assert refused.status_code is None
    assert "loopback" in refused.error
    assert connections == []
    assert receiver.received == []

    allowed = post(receiver.url(), allowed=["127.0.0.1"])

    assert allowed.ok, allowed.error
    assert len(receiver.received) == 1


def test_a_host_name_that_resolves_to_loopback_is_refused(connections, receiver):
    # localhost comes from /etc/hosts: no DNS query leaves the machine.
    result = post(f"http://localhost:{receiver.port}/hook", allowed=["127.0.0.1"])

    assert result.status_code is None
    assert "localhost" in result.error
    assert "loopback" in result.error
    assert connections == []
    assert receiver.received == []


@pytest.mark.parametrize(
    "address",
    [
        "169.254.169.254",
        "fd00:ec2::254",
        "100.100.100.200",
        "224.0.0.1",
        "0.0.0.0",  # noqa: S104 - an address under test, nothing binds to it
    ],
)
def test_metadata_multicast_and_unspecified_are_refused_even_for_allowed_hosts(address):
    assert address_refusal(ipaddress.ip_address(address), host_allowed=True) is not None


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "::1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.1.1",
        "fe80::1",
        "fc00::1",
        "100.64.0.1",
        "192.0.2.1",
        "240.0.0.1",
        "::ffff:10.0.0.1",
        "::ffff:127.0.0.1",
    ],
)
def test_non_global_addresses_are_refused(address):
    assert address_refusal(ipaddress.ip_address(address), host_allowed=False) is not None
    if ipaddress.ip_address(address).is_loopback or address.startswith("10."):
        assert address_refusal(ipaddress.ip_address(address), host_allowed=True) is None


def test_public_addresses_pass():
    for address in ("93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946"):
        assert address_refusal(ipaddress.ip_address(address), host_allowed=False) is None


def fake_resolver(table: dict[str, list[str]], calls: list[str]):
    """getaddrinfo for names of the test only: no DNS query leaves the machine."""

    def resolve(host, port, type=0):
        calls.append(host)
        if host not in table:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [
            (
                socket.AF_INET6 if ":" in address else socket.AF_INET,
                socket.SOCK_STREAM,
                6,
                "",
                (address, port),
            )
            for address in table[host]
        ]

    return resolve


def test_a_name_with_any_private_address_is_refused(connections):
    calls: list[str] = []
    resolver = fake_resolver({"mixed.example.test": ["93.184.216.34", "10.0.0.7"]}, calls)

    result = post("https://mixed.example.test/hook", resolver=resolver)

    assert "10.0.0.7 is a private address" in result.error
    assert connections == []


def test_an_unknown_name_is_refused():
    result = post("https://nowhere.example.test/", resolver=fake_resolver({}, []))

    assert result.status_code is None
    assert "does not resolve" in result.error


def test_it_connects_to_the_checked_address_with_the_names_host_header(connections, receiver):
    # given a name (allowed as private) that resolves to the receiver's address
    calls: list[str] = []
    resolver = fake_resolver({"hooks.example.test": ["127.0.0.1"]}, calls)

    # when
    result = post(
        f"http://hooks.example.test:{receiver.port}/in?x=1",
        allowed=["hooks.example.test"],
        resolver=resolver,
    )

    # then: one lookup, a connection to that address, the Host header of the name
    assert result.ok, result.error
    assert calls == ["hooks.example.test"]
    assert connections == [("127.0.0.1", receiver.port)]
    assert receiver.received[0].headers["host"] == f"hooks.example.test:{receiver.port}"
    assert receiver.received[0].path == "/in?x=1"


def test_a_redirect_is_a_failed_attempt_and_is_not_followed(connections, receiver):
    receiver.plan = [f"redirect:{receiver.url('/elsewhere')}"]

    result = post(receiver.url("/hook"), allowed=["127.0.0.1"])

    assert result.status_code == 302
    assert not result.ok
    assert "redirects are not followed" in result.error
    assert [r.path for r in receiver.received] == ["/hook"]


def test_a_receiver_that_stalls_past_the_read_timeout_is_no_answer(receiver):
    receiver.plan = ["stall"]

    result = http_post(
        url=receiver.url(),
        body=b"{}",
        headers={},
        allowed_private_hosts=["127.0.0.1"],
        connect_timeout_s=3,
        read_timeout_s=1,
        max_response_bytes=1024,
    )

    assert result.status_code is None
    assert result.error.startswith("no answer")


def test_nothing_listening_is_no_answer():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again before the POST: nothing listens

    result = post(f"http://127.0.0.1:{port}/", allowed=["127.0.0.1"])

    assert result.status_code is None
    assert result.error.startswith("no answer")


def test_an_international_name_is_resolved_and_sent_in_idna():
    target = target_parse("https://Bücher.Example:8443/x")
    assert target.host == "xn--bcher-kva.example"
    assert target.host_header == "xn--bcher-kva.example:8443"


def test_literal_ipv6_and_default_ports_are_parsed():
    target = target_parse("https://[::1]/x")
    assert (target.host, target.port, target.host_header) == ("::1", 443, "[::1]")
    with pytest.raises(DeliveryRefused):
        resolve_checked(target, allowed_private_hosts=[])
    assert resolve_checked(target, allowed_private_hosts=["[::1]"]) == "::1"


def self_signed_cert(tmp_path, name: str):
    """A certificate for `name` that no CA vouches for, as PEM files."""
    import datetime as dt

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=1))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def test_https_sends_the_names_sni_and_refuses_an_untrusted_certificate(tmp_path, connections):
    # given a TLS server on loopback that records the server name the client asks for
    import ssl
    import threading

    cert, key = self_signed_cert(tmp_path, "hooks.example.test")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    names: list[str | None] = []
    context.sni_callback = lambda sock, name, ctx: names.append(name)
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def serve_one():
        conn, _ = listener.accept()
        try:
            context.wrap_socket(conn, server_side=True).close()
        except (ssl.SSLError, OSError):
            pass  # the client refuses the certificate mid-handshake
        finally:
            conn.close()

    server = threading.Thread(target=serve_one, daemon=True)
    server.start()

    # when the name resolves to it (allowed as private)
    result = post(
        f"https://hooks.example.test:{port}/hook",
        allowed=["hooks.example.test"],
        resolver=fake_resolver({"hooks.example.test": ["127.0.0.1"]}, []),
    )
    server.join(timeout=10)
    listener.close()

    # then the handshake named the host, and the self-signed certificate was not trusted
    assert names == ["hooks.example.test"]
    assert connections == [("127.0.0.1", port)]
    assert result.status_code is None
    assert "CERTIFICATE_VERIFY_FAILED" in result.error
