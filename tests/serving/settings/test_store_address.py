"""store.redis_url: one server, Sentinel or a cluster, parsed at load with clear errors."""

from __future__ import annotations

import re

import pytest
from pydantic import ValidationError

from serving.settings import StoreConfig
from serving.settings.store_address import parse_store_url


def test_one_server_urls_go_to_redis_py_as_they_are() -> None:
    address = parse_store_url("rediss://user:pw@cache:6380/2?ssl_cert_reqs=none")
    assert (address.kind, address.tls, address.nodes) == ("redis", True, ())
    assert address.url == "rediss://user:pw@cache:6380/2?ssl_cert_reqs=none"


def test_a_sentinel_url_names_its_sentinels_service_database_and_credentials() -> None:
    address = parse_store_url("redis+sentinel://app:p%40ss@s1:26379,s2,[::1]:26380/pearcare/3?sentinel_password=sp")
    assert address.kind == "sentinel"
    assert address.nodes == (("s1", 26379), ("s2", 26379), ("::1", 26380))
    assert (address.service, address.db, address.username, address.password) == ("pearcare", 3, "app", "p@ss")
    assert address.sentinel_auth == {"password": "sp"}
    assert address.primary_url == "redis://app:p%40ss@sentinel-primary/3"


def test_a_cluster_url_names_its_seed_nodes() -> None:
    address = parse_store_url("rediss+cluster://:pw@n1:7000,n2:7001")
    assert (address.kind, address.tls, address.nodes, address.password) == (
        "cluster",
        True,
        (("n1", 7000), ("n2", 7001)),
        "pw",
    )


def test_tls_options_are_read_as_redis_py_takes_them_and_reach_the_primary_url() -> None:
    cluster = parse_store_url("rediss+cluster://:pw@n1:7000?ssl_ca_certs=/ca.pem&ssl_cert_reqs=required")
    assert cluster.tls_options == {"ssl_ca_certs": "/ca.pem", "ssl_cert_reqs": "required"}
    sentinel = parse_store_url("rediss+sentinel://:pw@s1/svc?ssl_check_hostname=false&ssl_cert_reqs=none")
    assert sentinel.tls_options == {"ssl_check_hostname": False, "ssl_cert_reqs": "none"}
    assert sentinel.primary_url == "rediss://:pw@sentinel-primary/0?ssl_cert_reqs=none&ssl_check_hostname=false"


def test_hosts_options_and_blank_values_parse_where_they_stand() -> None:
    assert parse_store_url("redis+cluster://:pw@n1?").nodes == (("n1", 6379),)  # "?" right after the hosts
    assert parse_store_url("redis+cluster://:pw@[::1],[fe80::1]:7001").nodes == (("::1", 6379), ("fe80::1", 7001))
    assert parse_store_url("redis+sentinel://:pw@s1/svc?sentinel_password=").sentinel_auth == {"password": ""}


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://h:6379", "must start with one of"),
        ("redis+sentinel://:pw@s1:26379", "names its service"),
        ("redis+sentinel://:pw@s1:26379/svc/x", "database must be a number"),
        ("redis+cluster://:pw@n1:7000/0", "one database"),
        ("redis+cluster://:pw@n1:notaport", "no valid port"),
        ("redis+cluster://:pw@:7000", "has no host"),
        ("redis+sentinel://:pw@s1/svc?timeout=3", "unknown option(s) timeout"),
        ("redis+cluster://:pw@n1?sentinel_username=x&a=1", "unknown option(s) a"),
        ("redis+cluster://:pw@::1:7000", "in brackets"),
        ("redis+cluster://:pw@[::1]7000", "is not [IPv6 address]:port"),
        ("redis+cluster://:pw@n1?ssl_cert_reqs=none", "ssl_* options need TLS"),
        ("rediss+cluster://:pw@n1?ssl_cert_reqs=maybe", "ssl_cert_reqs must be one of"),
    ],
)
def test_a_malformed_url_is_refused_at_load(url: str, message: str) -> None:
    with pytest.raises(ValidationError, match=re.escape(message)):
        StoreConfig(redis_url=url)


@pytest.mark.parametrize(
    "url", ["redis://h:6379/0", "redis+sentinel://s1:26379/svc", "redis+cluster://n1:7000,n2:7001"]
)
def test_every_form_needs_credentials_unless_told_otherwise(url: str) -> None:
    with pytest.raises(ValidationError, match="has no credentials"):
        StoreConfig(redis_url=url)
    assert StoreConfig(redis_url=url, allow_unauthenticated_store=True).redis_url == url


def test_a_unix_socket_needs_no_password() -> None:
    assert StoreConfig(redis_url="unix:///run/redis.sock").redis_url == "unix:///run/redis.sock"
