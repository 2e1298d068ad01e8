"""Which passwords the settings refuse (workers/settings.py), with no settings library: a
listing checks its database URL by the same rule without importing pydantic-settings
(workers/environment.py)."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

MIN_PASSWORD_LENGTH = 16
# The placeholders of .env.example and the like: refused at any length.
_EXAMPLES = ("change-me", "changeme", "password", "secret", "example")
PASSWORD_FIX = "set a random one of at least 16 characters (e.g. `openssl rand -base64 24`)"


def weak_password(password: str) -> str | None:
    if any(example in password.lower() for example in _EXAMPLES):
        return "is an example password"
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"is shorter than {MIN_PASSWORD_LENGTH} characters"
    return None


def _local(host: str | None) -> bool:
    if not host or host == "localhost":
        return True  # a unix socket or this machine
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def weak_url_password(name: str, url: str) -> str | None:
    """The refusal for the password in service URL setting ``name``, or None: an example
    password anywhere; a short one only when the service is on another host (a database on
    this machine's loopback may keep a short one)."""
    try:
        parts = urlsplit(url)
        host, password = parts.hostname, parts.password
    except ValueError:
        return None  # not a URL at all: the connection says so
    if not password:
        return None
    why = weak_password(password)
    if why and (why.startswith("is an example") or not _local(host)):
        return f"the password in SIGNALFLEET_{name.upper()} {why}: {PASSWORD_FIX}"
    return None
