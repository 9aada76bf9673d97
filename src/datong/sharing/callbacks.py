"""Where the hub may send webhooks: public addresses only, unless the operator allows more.

A callback names a host; the hub resolves it and refuses any address that is not globally routable
(loopback, private networks, link-local such as the cloud metadata service at 169.254.169.254,
shared, reserved, multicast) unless ``DATONG_CALLBACK_ALLOW`` names the host or a network that
holds the address. The check runs when a subscription is made and again before every delivery,
and the delivery connects to the very address that passed (a name that resolves elsewhere a
second later cannot redirect it). Redirects are not followed.

The standard library's ``http.client`` is used because it lets the connection go to a chosen
address while the Host header and the TLS name stay the callback's host.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
from dataclasses import dataclass
from urllib.parse import urlsplit

from datong.errors import InvalidInput
from datong.i18n import N_, Message


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    address: str
    path: str


class CallbackPolicy:
    def __init__(self, allow: str = "") -> None:
        self.hosts: set[str] = set()
        self.networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []
        for entry in (e.strip() for e in allow.split(",")):
            if not entry:
                continue
            try:
                self.networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                self.hosts.add(entry.lower().rstrip("."))

    def check(self, url: str) -> Target:
        """The address to connect to for ``url``, or InvalidInput saying why not."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise _refused(N_("an http:// or https:// address"))
        host = parts.hostname.lower().rstrip(".")
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
            found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (ValueError, OSError):
            raise _refused(N_("the host {host} cannot be resolved"), host=host) from None
        addresses = [ipaddress.ip_address(info[4][0].split("%")[0]) for info in found]
        blocked = [a for a in addresses if not self._allowed(host, a)]
        if blocked:
            raise _refused(N_("{host} is at {address}, an internal address; callbacks go to public addresses "
                              "unless the operator lists the host in DATONG_CALLBACK_ALLOW"),
                           host=host, address=str(blocked[0]))
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        return Target(parts.scheme, host, port, str(addresses[0]), path)

    def _allowed(self, host: str, address) -> bool:
        if host in self.hosts or any(address in network for network in self.networks):
            return True
        mapped = getattr(address, "ipv4_mapped", None)
        return (mapped or address).is_global

    def post(self, url: str, body: bytes, headers: dict[str, str], timeout: float) -> tuple[bool, str | None]:
        """One POST to the checked address; (delivered, error)."""
        try:
            target = self.check(url)
        except InvalidInput as error:
            return False, error.localised("en")
        connection = _connection(target, timeout)
        try:
            connection.request("POST", target.path, body=body, headers={
                "Host": target.host if target.port in (80, 443) else f"{target.host}:{target.port}",
                "Content-Type": "application/json; charset=utf-8", **headers})
            status = connection.getresponse().status
        except (OSError, http.client.HTTPException) as error:
            return False, f"{type(error).__name__}: {error}"[:200]
        finally:
            connection.close()
        return (True, None) if 200 <= status < 300 else (False, f"HTTP {status}")


class _PinnedHTTPS(http.client.HTTPSConnection):
    """TLS to a chosen address, checking the certificate against the callback's host name."""

    def __init__(self, target: Target, timeout: float) -> None:
        super().__init__(target.host, target.port, timeout=timeout, context=ssl.create_default_context())
        self.address = target.address

    def connect(self) -> None:
        sock = socket.create_connection((self.address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def _connection(target: Target, timeout: float) -> http.client.HTTPConnection:
    if target.scheme == "https":
        return _PinnedHTTPS(target, timeout)
    return http.client.HTTPConnection(target.address, target.port, timeout=timeout)


def _refused(text: str, **params) -> InvalidInput:
    return InvalidInput(field="callback_url", reason=Message(text, **params))
