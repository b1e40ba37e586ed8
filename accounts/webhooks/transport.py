"""POST to a receiver without being turned against the network we run in (SSRF guard).

The host is resolved once, every address it resolves to is checked, and the connection goes
to the checked address (no second lookup a DNS rebinding could answer differently), with
the Host header and TLS server name of the URL's host. Redirects are never followed and
only the first bytes of the answer are read.
"""

import ipaddress
import re
import socket
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

import certifi
import urllib3
from urllib3.exceptions import HTTPError as Urllib3Error

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[..., list]

# Cloud instance-metadata endpoints: refused even for an allowed private host, since
# reaching one hands out the machine's credentials.
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(address)
    for address in (
        "169.254.169.254",  # AWS, GCP, Azure, DigitalOcean, OpenStack
        "169.254.170.2",  # AWS ECS task metadata
        "169.254.169.253",  # AWS DNS
        "100.100.100.200",  # Alibaba Cloud
        "fd00:ec2::254",  # AWS IPv6
        "fd00:ec2::23",  # AWS IPv6 DNS
    )
)
DEFAULT_PORTS = {"http": 80, "https": 443}
# A DNS name in ASCII: dot-separated labels of letters, digits and inner hyphens.
HOST_LABEL = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?")
HOST_NAME_MAX_CHARS = 253
USER_AGENT = "Atelier-Webhooks/1"


class DeliveryRefused(Exception):
    """The URL may not be called: nothing was sent."""


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str  # lower case, IPv6 without brackets
    port: int
    path: str  # path and query, at least "/"

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == DEFAULT_PORTS[self.scheme] else f"{host}:{self.port}"


@dataclass(frozen=True)
class PostResult:
    status_code: int | None  # None: no answer (refused, unreachable, timed out)
    error: str  # empty on a 2xx
    address: str = ""  # the IP it connected to

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def _ascii_host(host: str) -> str:
    """The host as sent on the wire: an IP literal, or a DNS name (IDNA for non-ASCII)."""
    if ip_literal(host) is not None:
        return host
    try:
        name = host.encode("idna").decode("ascii")
    except UnicodeError:
        raise ValueError("The host is not a valid name.") from None
    labels = name.removesuffix(".").split(".")
    if len(name) > HOST_NAME_MAX_CHARS or not all(HOST_LABEL.fullmatch(x) for x in labels):
        raise ValueError("The host is not a valid name.")
    return name


def target_parse(url: str) -> Target:
    """The parts of an http(s) URL without credentials, fragment, spaces or control
    characters; ValueError otherwise."""
    if any(char.isspace() or not char.isprintable() for char in url):
        raise ValueError("Spaces and control characters are not allowed in the URL.")
    parts = urlsplit(url)
    if parts.scheme not in DEFAULT_PORTS:
        raise ValueError("Use an http:// or https:// URL.")
    if parts.username is not None or parts.password is not None:
        raise ValueError("Credentials are not allowed in the URL.")
    if parts.fragment:
        raise ValueError("A fragment (#...) is not allowed in the URL.")
    host = (parts.hostname or "").lower()
    if not host:
        raise ValueError("The URL needs a host.")
    host = _ascii_host(host)
    port = parts.port  # ValueError when out of range
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    return Target(
        scheme=parts.scheme, host=host, port=port or DEFAULT_PORTS[parts.scheme], path=path
    )


def ip_literal(host: str) -> IpAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def address_refusal(address: IpAddress, *, host_allowed: bool) -> str | None:
    """Why a connection to `address` is refused, or None when it is allowed.

    Loopback, private, link-local, shared (CGNAT), reserved and every other non-global
    address is refused unless the host is in WEBHOOK_ALLOWED_PRIVATE_HOSTS; metadata,
    multicast and unspecified addresses always are.
    """
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address in METADATA_ADDRESSES:
        return f"{address} is a cloud metadata address"
    if address.is_multicast or address.is_unspecified:
        return f"{address} is a multicast or unspecified address"
    if host_allowed or address.is_global:
        return None
    if address.is_loopback:
        kind = "loopback"
    elif address.is_link_local:
        kind = "link-local"
    elif address.is_private:
        kind = "private"
    else:
        kind = "reserved (not globally routable)"
    return f"{address} is a {kind} address"


def host_allowed(host: str, allowed_private_hosts: list[str]) -> bool:
    return host in {entry.strip().strip("[]").lower() for entry in allowed_private_hosts}


def resolve_checked(
    target: Target, *, allowed_private_hosts: list[str], resolver: Resolver = socket.getaddrinfo
) -> str:
    """The one address to connect to. Every address the host resolves to must pass (a name
    answering a public and a private address is refused): DeliveryRefused otherwise."""
    allowed = host_allowed(target.host, allowed_private_hosts)
    literal = ip_literal(target.host)
    if literal is not None:
        addresses: list[IpAddress] = [literal]
    else:
        try:
            infos = resolver(target.host, target.port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError) as exc:
            raise DeliveryRefused(f"{target.host} does not resolve: {exc}") from exc
        addresses = list(dict.fromkeys(ipaddress.ip_address(info[4][0]) for info in infos))
        if not addresses:
            raise DeliveryRefused(f"{target.host} does not resolve")
    for address in addresses:
        refusal = address_refusal(address, host_allowed=allowed)
        if refusal is not None:
            raise DeliveryRefused(f"{target.host}: {refusal}")
    return str(addresses[0])


def http_post(
    *,
    url: str,
    body: bytes,
    headers: dict[str, str],
    allowed_private_hosts: list[str],
    connect_timeout_s: float,
    read_timeout_s: float,
    max_response_bytes: int,
    resolver: Resolver = socket.getaddrinfo,
) -> PostResult:
    """POST `body` once. Refusals and network errors come back as a result without a
    status code, never as an exception; a 3xx is an answer like any other (not followed)."""
    try:
        target = target_parse(url)
        address = resolve_checked(
            target, allowed_private_hosts=allowed_private_hosts, resolver=resolver
        )
    except DeliveryRefused as exc:
        return PostResult(status_code=None, error=f"refused: {exc}")
    except ValueError as exc:
        return PostResult(status_code=None, error=f"refused: invalid URL: {exc}")
    timeout = urllib3.Timeout(connect=connect_timeout_s, read=read_timeout_s)
    pool: urllib3.HTTPConnectionPool
    if target.scheme == "https":
        pool = urllib3.HTTPSConnectionPool(
            address,
            target.port,
            timeout=timeout,
            retries=False,
            maxsize=1,
            cert_reqs="CERT_REQUIRED",
            ca_certs=certifi.where(),
            server_hostname=target.host,
            assert_hostname=target.host,
        )
    else:
        pool = urllib3.HTTPConnectionPool(
            address, target.port, timeout=timeout, retries=False, maxsize=1
        )
    request_headers = {
        **headers,
        "Host": target.host_header,
        "User-Agent": USER_AGENT,
        "Content-Type": "application/json",
        "Accept-Encoding": "identity",
    }
    try:
        response = pool.urlopen(
            "POST",
            target.path,
            body=body,
            headers=request_headers,
            redirect=False,
            retries=False,
            preload_content=False,
            decode_content=False,
            assert_same_host=False,
        )
        status = response.status
        try:
            # The answer's body means nothing here: read a bounded prefix so the receiver
            # is not cut off mid-write, then drop it; a slow or broken body changes nothing.
            response.read(max_response_bytes, decode_content=False)
        except (Urllib3Error, OSError):
            pass
        finally:
            response.close()
    except (Urllib3Error, OSError) as exc:
        return PostResult(status_code=None, error=f"no answer: {exc}", address=address)
    finally:
        pool.close()
    if 200 <= status < 300:
        return PostResult(status_code=status, error="", address=address)
    if 300 <= status < 400:
        return PostResult(
            status_code=status, error=f"HTTP {status}: redirects are not followed", address=address
        )
    return PostResult(status_code=status, error=f"HTTP {status}", address=address)
