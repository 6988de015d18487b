"""SSRF guard against a real HTTP server on 127.0.0.1: every refusal, redirects, DNS answers."""

from __future__ import annotations

import datetime as dt
import http.server
import ipaddress
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from reporunner.nodes.errors import ConfigurationError, SSRFBlockedError
from reporunner.nodes.ssrf import SSRFPolicy, blocked_reason, guarded_client


class _Server:
    """A tiny threaded HTTP server: ``/redirect?to=URL`` answers 302, anything else 200."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str]] = []  # (path, Host header)
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.requests.append((self.path, self.headers.get("Host", "")))
                if self.path.startswith("/redirect?to="):
                    self.send_response(302)
                    self.send_header("Location", self.path.split("=", 1)[1])
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                body = b"hello from 127.0.0.1"
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                return

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> _Server:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join()


@pytest.fixture(scope="module")
def server() -> Iterator[_Server]:
    with _Server() as srv:
        yield srv


class _FakeDNS:
    """Scripted DNS: each call for a host pops the next answer (the last one repeats)."""

    def __init__(self, answers: dict[str, list[list[str]]]) -> None:
        self.answers = answers
        self.calls: list[str] = []

    async def __call__(self, host: str, port: int) -> list[str]:
        self.calls.append(host)
        script = self.answers[host]
        return script.pop(0) if len(script) > 1 else script[0]


REFUSED = [
    ("http://localhost:{port}/", "localhost", "localhost"),
    ("http://LOCALHOST.:{port}/", "localhost", "localhost"),
    ("http://api.localhost:{port}/", "api.localhost", "localhost"),
    ("http://127.0.0.1:{port}/", "127.0.0.1", "loopback"),
    ("http://0.0.0.0:{port}/", "0.0.0.0", "unspecified"),
    ("http://[::1]:{port}/", "::1", "loopback"),
    ("http://[::ffff:127.0.0.1]:{port}/", "::ffff:127.0.0.1", "loopback"),
    ("http://2130706433:{port}/", "2130706433", "non-canonical"),
    ("http://0x7f.1:{port}/", "0x7f.1", "non-canonical"),
    ("http://017700000001:{port}/", "017700000001", "non-canonical"),
    ("http://127.1:{port}/", "127.1", "non-canonical"),
    ("http://127.0.0.1.:{port}/", "127.0.0.1.", "non-canonical"),
    ("http://[::127.0.0.1]:{port}/", "::7f00:1", "reserved"),
    ("http://[0:0:0:0:0:ffff:7f00:1]:{port}/", "::ffff:7f00:1", "loopback"),
    ("http://169.254.169.254/latest/meta-data/", "169.254.169.254", "link-local"),
    ("http://[fd00::1]:{port}/", "fd00::1", "private"),
    ("http://[fe80::1]:{port}/", "fe80::1", "link-local"),
    ("http://224.0.0.1:{port}/", "224.0.0.1", "multicast"),
    ("http://[ff02::1]:{port}/", "ff02::1", "multicast"),
    ("http://10.0.0.1:{port}/", "10.0.0.1", "private"),
    ("http://172.16.5.4:{port}/", "172.16.5.4", "private"),
    ("http://192.168.1.1:{port}/", "192.168.1.1", "private"),
    ("http://100.64.0.1:{port}/", "100.64.0.1", "carrier-grade NAT"),
    ("http://240.0.0.1:{port}/", "240.0.0.1", "reserved"),
    ("http://[2002:7f00:1::]:{port}/", "2002:7f00:1::", "embedded"),
    ("file:///etc/passwd", "/etc/passwd", "no http or https scheme"),
    ("file://localhost/etc/passwd", "localhost", "scheme 'file'"),
    ("gopher://127.0.0.1:{port}/_x", "127.0.0.1", "scheme 'gopher'"),
    ("ftp://example.com/file", "example.com", "scheme 'ftp'"),
]


@pytest.mark.parametrize(("url", "host", "reason"), REFUSED)
async def test_guard_refuses_private_spellings_and_schemes(
    server: _Server, url: str, host: str, reason: str
) -> None:
    before = len(server.requests)
    async with guarded_client() as client:
        with pytest.raises(SSRFBlockedError) as info:
            await client.get(url.format(port=server.port))
    assert f"'{host}" in info.value.detail
    assert reason in info.value.detail
    assert info.value.code == "ssrf_blocked"
    assert len(server.requests) == before, "the server must never be reached"


async def test_spellings_httpx_itself_rejects_never_connect(server: _Server) -> None:
    before = len(server.requests)
    async with guarded_client() as client:
        for url in ("http://0177.0.0.1:{port}/", "http://127.0.0.0001:{port}/"):
            with pytest.raises((SSRFBlockedError, httpx.InvalidURL)):
                await client.get(url.format(port=server.port))
    assert len(server.requests) == before


@pytest.mark.parametrize("entry", ["127.0.0.1", "127.0.0.0/8", "[127.0.0.1]"])
async def test_allow_listed_host_is_reached(server: _Server, entry: str) -> None:
    async with guarded_client(SSRFPolicy(allow_hosts=(entry,))) as client:
        response = await client.get(f"http://127.0.0.1:{server.port}/ok")
    assert response.status_code == 200
    assert response.text == "hello from 127.0.0.1"


async def test_allow_listed_name_resolved_by_the_system_resolver(server: _Server) -> None:
    async with guarded_client(SSRFPolicy(allow_hosts=("localhost",))) as client:
        response = await client.get(f"http://localhost:{server.port}/by-name")
    assert response.status_code == 200
    assert server.requests[-1] == ("/by-name", f"localhost:{server.port}")


@pytest.mark.parametrize(
    ("target", "named"),
    [
        ("http://localhost:{port}/secret", "localhost"),
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254"),
        ("http://[::1]:{port}/secret", "::1"),
        ("http://2130706433:{port}/secret", "2130706433"),
        ("http://internal.test:{port}/secret", "10.0.0.5"),
        ("file:///etc/passwd", "scheme 'file'"),
    ],
)
async def test_redirect_from_allowed_host_to_private_is_refused(
    server: _Server, target: str, named: str
) -> None:
    dns = _FakeDNS({"internal.test": [["10.0.0.5"]]})
    policy = SSRFPolicy(allow_hosts=("127.0.0.1/32",))
    location = target.format(port=server.port)
    async with guarded_client(policy, resolver=dns, follow_redirects=True) as client:
        with pytest.raises(SSRFBlockedError) as info:
            await client.get(f"http://127.0.0.1:{server.port}/redirect?to={location}")
    assert named in info.value.detail
    assert server.requests[-1][0].startswith("/redirect"), "only the first hop reached a server"


async def test_redirect_within_allow_list_is_followed(server: _Server) -> None:
    policy = SSRFPolicy(allow_hosts=("127.0.0.1",))
    async with guarded_client(policy, follow_redirects=True) as client:
        response = await client.get(
            f"http://127.0.0.1:{server.port}/redirect?to=http://127.0.0.1:{server.port}/landed"
        )
    assert response.status_code == 200
    assert [str(r.url.path) for r in response.history] == ["/redirect"]


async def test_redirect_bound_comes_from_the_policy(server: _Server) -> None:
    policy = SSRFPolicy(allow_hosts=("127.0.0.1",), max_redirects=0)
    async with guarded_client(policy, follow_redirects=True) as client:
        with pytest.raises(httpx.TooManyRedirects):
            await client.get(f"http://127.0.0.1:{server.port}/redirect?to=/landed")


async def test_every_dns_answer_is_checked(server: _Server) -> None:
    dns = _FakeDNS({"mixed.test": [["127.0.0.1", "10.7.7.7"]]})
    policy = SSRFPolicy(allow_hosts=("127.0.0.1/32",))
    before = len(server.requests)
    async with guarded_client(policy, resolver=dns) as client:
        with pytest.raises(SSRFBlockedError) as info:
            await client.get(f"http://mixed.test:{server.port}/")
    assert "'mixed.test' -> '10.7.7.7'" in info.value.detail
    assert "private address" in info.value.detail
    assert len(server.requests) == before


async def test_public_name_resolving_to_private_address_is_refused() -> None:
    dns = _FakeDNS({"metadata.test": [["169.254.169.254"]], "v6.test": [["::1"]]})
    async with guarded_client(resolver=dns) as client:
        for host, reason in (("metadata.test", "link-local"), ("v6.test", "loopback")):
            with pytest.raises(SSRFBlockedError, match=reason):
                await client.get(f"http://{host}/")
    assert dns.calls == ["metadata.test", "v6.test"]


async def test_connects_to_the_checked_address_and_keeps_the_host_header(
    server: _Server,
) -> None:
    # app.test exists only in the fake DNS: reaching the server proves the socket went to the
    # address the guard checked. The second answer (a rebinding to 10.9.9.9) is checked again
    # on the next connection and refused.
    dns = _FakeDNS({"app.test": [["127.0.0.1"], ["10.9.9.9"]]})
    policy = SSRFPolicy(allow_hosts=("127.0.0.1/32",))
    async with guarded_client(policy, resolver=dns) as client:
        response = await client.get(f"http://app.test:{server.port}/first")
        assert response.status_code == 200
        assert server.requests[-1] == ("/first", f"app.test:{server.port}")
        assert dns.calls == ["app.test"], "one lookup per connection, none after the check"
        with pytest.raises(SSRFBlockedError, match=r"10\.9\.9\.9"):
            await client.get(f"http://app.test:{server.port}/second")
    assert server.requests[-1][0] == "/first"


def test_blocked_reason_lets_public_addresses_through() -> None:
    for public in ("8.8.8.8", "93.184.216.34", "2001:4860:4860::8888"):
        assert blocked_reason(ipaddress.ip_address(public)) is None
    assert blocked_reason(ipaddress.ip_address("64:ff9b::7f00:1")) is not None


def test_policy_and_client_refuse_unsafe_configuration() -> None:
    with pytest.raises(ConfigurationError, match="only contain 'http' and 'https'"):
        SSRFPolicy(allowed_schemes=("http", "file"))
    with pytest.raises(ConfigurationError, match="bypass the SSRF guard"):
        guarded_client(transport=httpx.AsyncHTTPTransport())
    with pytest.raises(ConfigurationError, match="max_redirects"):
        guarded_client(max_redirects=50)


def _self_signed(host: str) -> tuple[bytes, bytes]:
    """A throwaway certificate for ``host`` and its key (PEM)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(host)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


async def test_tls_keeps_sni_and_certificate_of_the_original_host(
    tmp_path: Path,
) -> None:
    cert_pem, key_pem = _self_signed("app.test")
    folder = tmp_path
    (folder / "cert.pem").write_bytes(cert_pem)
    (folder / "key.pem").write_bytes(key_pem)
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(folder / "cert.pem", folder / "key.pem")
    sni_seen: list[str | None] = []

    def record_sni(sock: ssl.SSLObject, name: str | None, ctx: ssl.SSLContext) -> None:
        sni_seen.append(name)

    server_ctx.sni_callback = record_sni
    client_ctx = ssl.create_default_context(cadata=cert_pem.decode())

    with _Server() as srv:
        srv.httpd.socket = server_ctx.wrap_socket(srv.httpd.socket, server_side=True)
        dns = _FakeDNS({"app.test": [["127.0.0.1"]]})
        policy = SSRFPolicy(allow_hosts=("127.0.0.1/32",))
        async with guarded_client(policy, resolver=dns, verify=client_ctx) as client:
            response = await client.get(f"https://app.test:{srv.port}/tls")
            assert response.status_code == 200
            assert srv.requests[-1] == ("/tls", f"app.test:{srv.port}")
            assert sni_seen == ["app.test"]
            # Same socket address, but the certificate does not name 127.0.0.1: verification
            # is done against the URL's host, not against the address we connected to.
            with pytest.raises(httpx.ConnectError, match=r"CERTIFICATE_VERIFY_FAILED"):
                await client.get(f"https://127.0.0.1:{srv.port}/tls")
