"""Where the store is, read from store.redis_url: one Redis, a Sentinel-watched primary, or a
Redis Cluster.

- redis://[user:password@]host:port/db, rediss://… (TLS), unix:///path?db=… : one server.
- redis+sentinel://[user:password@]host:port[,host:port…]/service[/db] (rediss+sentinel for
  TLS to the primary): the Sentinels to ask for the primary of `service`; the credentials are
  the primary's. Sentinels with a password of their own: ?sentinel_password=… (and
  sentinel_username=…).
- redis+cluster://[user:password@]host:port[,host:port…] (rediss+cluster for TLS): seed nodes
  of a cluster; the rest of its topology is discovered from them.

Plain redis:// URLs go to redis-py as they are (every option it reads from a URL still works);
the two multi-host forms are parsed here, as redis-py's URL parser takes one host.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import parse_qs, quote, unquote, urlsplit

StoreKind = Literal["redis", "sentinel", "cluster"]

_SCHEMES: dict[str, tuple[StoreKind, bool]] = {
    "redis": ("redis", False),
    "rediss": ("redis", True),
    "unix": ("redis", False),
    "redis+sentinel": ("sentinel", False),
    "rediss+sentinel": ("sentinel", True),
    "redis+cluster": ("cluster", False),
    "rediss+cluster": ("cluster", True),
}
DEFAULT_PORTS = {"redis": 6379, "sentinel": 26379, "cluster": 6379}


@dataclass(frozen=True, slots=True)
class StoreAddress:
    kind: StoreKind
    url: str
    tls: bool = False
    nodes: tuple[tuple[str, int], ...] = ()  # sentinels or cluster seeds; empty for one server
    service: str = ""  # the Sentinel service (master) name
    db: int = 0
    username: str | None = None
    password: str | None = None
    sentinel_auth: dict[str, str] = field(default_factory=dict)  # username/password for the Sentinels

    @property
    def primary_url(self) -> str:
        """A redis:// URL with this address's credentials, TLS and database; its host is a
        placeholder for the one Sentinel names."""
        user = quote(self.username or "", safe="")
        secret = f":{quote(self.password, safe='')}" if self.password is not None else ""
        at = "@" if user or secret else ""
        return f"{'rediss' if self.tls else 'redis'}://{user}{secret}{at}sentinel-primary/{self.db}"

    @property
    def authenticated(self) -> bool:
        """Credentials given (or a unix socket, which only this host reaches)."""
        if self.kind == "redis":
            split = urlsplit(self.url)
            return split.scheme.lower() == "unix" or bool(split.password)
        return bool(self.password)


def parse_store_url(url: str) -> StoreAddress:
    """The store's address, or ValueError saying what is wrong with the URL."""
    scheme, separator, rest = url.partition("://")
    if not separator or scheme.lower() not in _SCHEMES:
        raise ValueError(f"store.redis_url must start with one of {', '.join(s + '://' for s in _SCHEMES)}")
    kind, tls = _SCHEMES[scheme.lower()]
    if kind == "redis":
        return StoreAddress(kind="redis", url=url, tls=tls)
    netloc, _, tail = rest.partition("/")
    tail, _, query = tail.partition("?")
    credentials, at, hosts = netloc.rpartition("@")
    username = password = None
    if at:
        user_part, colon, password_part = credentials.partition(":")
        username = unquote(user_part) or None
        password = unquote(password_part) if colon else None
    nodes = tuple(_node(item, DEFAULT_PORTS[kind], url_kind=kind) for item in hosts.split(","))
    options = {name: values[-1] for name, values in parse_qs(query).items()}
    sentinel_auth = {
        name.removeprefix("sentinel_"): options.pop(name)
        for name in ("sentinel_username", "sentinel_password")
        if name in options
    }
    if options:
        raise ValueError(f"store.redis_url: unknown option(s) {', '.join(sorted(options))}")
    segments = [segment for segment in tail.split("/") if segment]
    if kind == "cluster":
        if segments:
            raise ValueError("store.redis_url: a Redis Cluster has one database; give no path after its nodes")
        return StoreAddress("cluster", url, tls, nodes, username=username, password=password)
    if not segments or len(segments) > 2:
        raise ValueError("store.redis_url: a Sentinel URL names its service: redis+sentinel://host:26379/mymaster[/db]")
    db = 0
    if len(segments) == 2:
        if not segments[1].isdigit():
            raise ValueError(f"store.redis_url: the database must be a number, not {segments[1]!r}")
        db = int(segments[1])
    return StoreAddress(
        "sentinel", url, tls, nodes, unquote(segments[0]), db, username, password, sentinel_auth=sentinel_auth
    )


def _node(item: str, default_port: int, *, url_kind: str) -> tuple[str, int]:
    host, colon, port = item.strip().rpartition(":") if ":" in item else (item.strip(), "", "")
    host = host.strip("[]")  # an IPv6 address in brackets
    if not host:
        raise ValueError(f"store.redis_url: a {url_kind} node has no host ({item!r})")
    if not colon:
        return host, default_port
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"store.redis_url: {item!r} has no valid port")
    return host, int(port)
