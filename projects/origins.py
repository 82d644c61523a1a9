"""What an instance URL points at: its origin (where a token may go), credentials in it, loopback or not."""

import ipaddress
from urllib.parse import urlsplit

DEFAULT_PORTS = {"http": 80, "https": 443}


def url_origin(url: str) -> str:
    """scheme://host:port, lower-cased, the port always written: two URLs with one origin reach one server."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    try:
        port = parts.port or DEFAULT_PORTS.get(scheme, 0)
    except ValueError:
        port = 0
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    return f"{scheme}://{host}:{port}"


def url_userinfo(url: str) -> bool:
    """Whether the URL carries user:password@ (or user@) before its host."""
    return "@" in urlsplit(url.strip()).netloc


def url_is_loopback(url: str) -> bool:
    """localhost, 127.0.0.0/8 or ::1: traffic that never leaves this machine."""
    host = (urlsplit(url.strip()).hostname or "").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
