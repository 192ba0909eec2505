"""Where the store is, read from store.redis_url: one Redis, a Sentinel-watched primary, or a
Redis Cluster.

- redis://[user:password@]host:port/db, rediss://… (TLS), unix:///path?db=… : one server.
- redis+sentinel://[user:password@]host:port[,host:port…]/service[/db] (rediss+sentinel for
  TLS to the primary): the Sentinels to ask for the primary of `service`; the credentials are
  the primary's. Sentinels with a password of their own: ?sentinel_password=… (and
  sentinel_username=…).
- redis+cluster://[user:password@]host:port[,host:port…] (rediss+cluster for TLS): seed nodes
  of a cluster; the rest of its topology is discovered from them.
- TLS options for both, as redis-py reads them from a rediss:// URL: ?ssl_ca_certs=/path,
  ssl_cert_reqs=required|optional|none, ssl_check_hostname=true|false (a Sentinel names its
  primary by IP address: check the host name only with certificates issued for it).

Plain redis:// URLs go to redis-py as they are (every option it reads from a URL still works);
the two multi-host forms are parsed here, as redis-py's URL parser takes one host.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import parse_qs, quote, unquote, urlencode, urlsplit

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
    tls_options: dict[str, Any] = field(default_factory=dict)  # ssl_ca_certs, ssl_cert_reqs, ssl_check_hostname

    @property
    def primary_url(self) -> str:
        """A redis:// URL with this address's credentials, TLS and database; its host is a
        placeholder for the one Sentinel names."""
        return self._url_to("sentinel-primary")

    def node_url(self, host: str, port: int) -> str:
        """A redis:// URL for one node of a cluster: this address's credentials and TLS."""
        return self._url_to(f"[{host}]:{port}" if ":" in host else f"{host}:{port}")

    def _url_to(self, where: str) -> str:
        user = quote(self.username or "", safe="")
        secret = f":{quote(self.password, safe='')}" if self.password is not None else ""
        at = "@" if user or secret else ""
        options = {
            name: str(value).lower() if isinstance(value, bool) else value for name, value in self.tls_options.items()
        }
        url = f"{'rediss' if self.tls else 'redis'}://{user}{secret}{at}{where}/{self.db}"
        return f"{url}?{urlencode(options)}" if options else url

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
    rest, _, query = rest.partition("?")
    netloc, _, tail = rest.partition("/")
    credentials, at, hosts = netloc.rpartition("@")
    username = password = None
    if at:
        user_part, colon, password_part = credentials.partition(":")
        username = unquote(user_part) or None
        password = unquote(password_part) if colon else None
    nodes = tuple(_node(item, DEFAULT_PORTS[kind], url_kind=kind) for item in hosts.split(","))
    options = {name: values[-1] for name, values in parse_qs(query, keep_blank_values=True).items()}
    sentinel_auth = {
        name.removeprefix("sentinel_"): options.pop(name)
        for name in ("sentinel_username", "sentinel_password")
        if name in options
    }
    tls_options = _tls_options(options)
    if options:
        raise ValueError(f"store.redis_url: unknown option(s) {', '.join(sorted(options))}")
    if tls_options and not tls:
        raise ValueError("store.redis_url: ssl_* options need TLS (rediss+sentinel:// or rediss+cluster://)")
    segments = [segment for segment in tail.split("/") if segment]
    if kind == "cluster":
        if segments:
            raise ValueError("store.redis_url: a Redis Cluster has one database; give no path after its nodes")
        return StoreAddress("cluster", url, tls, nodes, username=username, password=password, tls_options=tls_options)
    if not segments or len(segments) > 2:
        raise ValueError("store.redis_url: a Sentinel URL names its service: redis+sentinel://host:26379/mymaster[/db]")
    db = 0
    if len(segments) == 2:
        if not segments[1].isdigit():
            raise ValueError(f"store.redis_url: the database must be a number, not {segments[1]!r}")
        db = int(segments[1])
    return StoreAddress(
        "sentinel",
        url,
        tls,
        nodes,
        unquote(segments[0]),
        db,
        username,
        password,
        sentinel_auth=sentinel_auth,
        tls_options=tls_options,
    )


_CERT_REQS = ("required", "optional", "none")


def _tls_options(options: dict[str, str]) -> dict[str, Any]:
    """The ssl_* options (taken out of `options`), typed as redis-py's clients take them."""
    tls: dict[str, Any] = {}
    if "ssl_ca_certs" in options:
        tls["ssl_ca_certs"] = options.pop("ssl_ca_certs")
    if "ssl_cert_reqs" in options:
        reqs = options.pop("ssl_cert_reqs").lower()
        if reqs not in _CERT_REQS:
            raise ValueError(f"store.redis_url: ssl_cert_reqs must be one of {', '.join(_CERT_REQS)}")
        tls["ssl_cert_reqs"] = reqs
    if "ssl_check_hostname" in options:
        check = options.pop("ssl_check_hostname").lower()
        if check not in ("true", "false"):
            raise ValueError("store.redis_url: ssl_check_hostname must be true or false")
        tls["ssl_check_hostname"] = check == "true"
    return tls


def _node(item: str, default_port: int, *, url_kind: str) -> tuple[str, int]:
    item = item.strip()
    if item.startswith("["):  # an IPv6 address, in brackets as in any URL
        host, bracket, rest = item[1:].partition("]")
        if not bracket or (rest and not rest.startswith(":")):
            raise ValueError(f"store.redis_url: {item!r} is not [IPv6 address]:port")
        colon, port = (":", rest[1:]) if rest else ("", "")
    elif item.count(":") > 1:
        raise ValueError(f"store.redis_url: put an IPv6 address in brackets ({item!r})")
    else:
        host, colon, port = item.partition(":")
    if not host:
        raise ValueError(f"store.redis_url: a {url_kind} node has no host ({item!r})")
    if not colon:
        return host, default_port
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"store.redis_url: {item!r} has no valid port")
    return host, int(port)
