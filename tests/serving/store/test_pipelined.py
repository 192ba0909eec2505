"""The auto-pipelined store connection against a real redis-server: replies matched to their
commands under concurrency and cancellation, redis-py's error classes, reconnection after a
restart, timeouts, AUTH, SELECT and TLS."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from redis.asyncio import Redis
from redis.exceptions import AuthenticationError, NoScriptError, ResponseError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from loadtests.devstack.vllm_cpu import free_port
from serving.lifetime import stop
from serving.store.connection import LuaScript
from serving.store.pipelined import PipelinedRedis, _Link
from tests.conftest import RedisServer
from tests.support.wait import eventually_async

ECHO = LuaScript("return ARGV[1]")


@contextlib.asynccontextmanager
async def fake_redis(answer: bytes | None) -> AsyncIterator[tuple[int, list[asyncio.StreamWriter]]]:
    """A TCP server that writes `answer` for every read (None: reads and never answers, a hung
    Redis): its port, and its connections as they come."""
    connections: list[asyncio.StreamWriter] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(writer)
        while await reader.read(1024):
            if answer is not None:
                writer.write(answer)

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1], connections
    finally:
        server.close()
        for writer in connections:
            writer.close()


async def test_every_caller_gets_its_own_reply_when_many_share_the_connection(redis_server: RedisServer) -> None:
    store = PipelinedRedis(redis_server.url)
    try:
        await ECHO.run(store, [], ["connect"])
        calls = [asyncio.create_task(ECHO.run(store, [], [f"call-{n}"])) for n in range(500)]
        await asyncio.sleep(0)
        assert store._link is not None and len(store._link._waiting) == 500  # every command written, none answered
        cancelled = calls[::7]
        for call in cancelled:  # callers that leave: their replies are read and dropped in order
            call.cancel()
        kept = [call for call in calls if call not in cancelled]
        replies = await asyncio.gather(*kept)
        assert replies == [f"call-{n}".encode() for n in range(500) if n % 7]
        assert all(call.cancelled() for call in cancelled)
        assert await store.execute_command("ECHO", "after") == b"after"  # still in step
        clients = redis_server.client().client_list()
        assert len(clients) == 2  # this connection and the checking client: one connection for 500 calls
    finally:
        await store.aclose()


async def test_error_replies_raise_redis_py_classes_and_keep_the_connection(redis_server: RedisServer) -> None:
    store = PipelinedRedis(redis_server.url)
    try:
        first = await store.execute_command("CLIENT", "ID")
        with pytest.raises(NoScriptError):
            await store.execute_command("EVALSHA", "0" * 40, 0)
        assert await ECHO.run(store, [], ["loaded"]) == b"loaded"  # LuaScript falls back to EVAL
        await store.execute_command("SET", "text", "x")
        with pytest.raises(ResponseError, match="WRONGTYPE"):
            await store.execute_command("HGET", "text", "f")
        assert await store.execute_command("CLIENT", "ID") == first
    finally:
        await store.aclose()


async def test_a_restarted_redis_is_reconnected_without_failing_a_command(redis_server: RedisServer) -> None:
    store = PipelinedRedis(redis_server.url)
    try:
        assert await store.execute_command("INCR", "n") == 1
        redis_server.stop()
        with pytest.raises(RedisConnectionError):
            await store.execute_command("INCR", "n")  # down: a connection error, promptly
        redis_server.start()  # same port, empty
        assert await store.execute_command("INCR", "n") == 1
        redis_server.stop()
        redis_server.start()
        # The old socket is dead but not yet known to be: the one retry takes a new one.
        assert sorted(await asyncio.gather(*(store.execute_command("INCR", "n") for _ in range(3)))) == [1, 2, 3]
    finally:
        await store.aclose()


async def test_a_connection_killed_under_load_loses_no_call(redis_server: RedisServer) -> None:
    """Calls in flight when Redis drops the connection, and calls written to it before the loop
    knows (on uvloop a write to a closed transport raises): each answered, its own reply."""
    store = PipelinedRedis(redis_server.url)
    try:
        connection_id = await store.execute_command("CLIENT", "ID")
        in_flight = [asyncio.create_task(ECHO.run(store, [], [f"in-flight-{n}"])) for n in range(200)]
        await asyncio.sleep(0)
        redis_server.client().client_kill_filter(_id=connection_id)  # blocking: the loop has not seen it
        after = [asyncio.create_task(ECHO.run(store, [], [f"after-{n}"])) for n in range(200)]
        replies = await asyncio.gather(*in_flight, *after)
        expected = [f"in-flight-{n}".encode() for n in range(200)] + [f"after-{n}".encode() for n in range(200)]
        assert replies == expected
        assert await store.execute_command("CLIENT", "ID") != connection_id
    finally:
        await store.aclose()


async def test_unanswered_commands_time_out_once_more_on_a_new_connection() -> None:
    async with fake_redis(None) as (port, connections):
        store = PipelinedRedis(f"redis://127.0.0.1:{port}/0", socket_timeout=0.2)
        try:
            results = await asyncio.gather(*(store.execute_command("PING") for _ in range(3)), return_exceptions=True)
            assert all(isinstance(result, RedisTimeoutError) for result in results), results
            # Each sent once more on one new connection (as redis-py's retry did), which timed out too.
            assert len(connections) == 2
        finally:
            await store.aclose()


async def test_a_redis_that_never_answers_auth_fails_every_waiting_call_at_once() -> None:
    """One shared connection attempt: ten requests wait for it, not for ten attempts in turn."""
    async with fake_redis(None) as (port, connections):
        store = PipelinedRedis(f"redis://:secret@127.0.0.1:{port}/0", socket_timeout=0.2, connect_timeout=0.2)
        try:
            results = await asyncio.gather(*(store.execute_command("PING") for _ in range(10)), return_exceptions=True)
            assert all(isinstance(result, RedisTimeoutError) for result in results), results
            assert len(connections) == 1  # one attempt for all ten, not ten in turn
        finally:
            await store.aclose()


async def test_closing_during_a_connection_attempt_is_a_store_error_for_its_waiters() -> None:
    async with fake_redis(None) as (port, connections):
        store = PipelinedRedis(f"redis://:secret@127.0.0.1:{port}/0", socket_timeout=5.0)
        waiting = [asyncio.create_task(store.execute_command("PING")) for _ in range(3)]

        async def connected() -> int:
            return len(connections)

        await eventually_async(connected)  # the connection is made, its AUTH never answered
        await store.aclose()
        results = await asyncio.gather(*waiting, return_exceptions=True)
        assert all(isinstance(result, RedisConnectionError) for result in results), results  # not CancelledError


async def test_a_reply_no_command_asked_for_drops_the_connection() -> None:
    """A reply when no command waits: the server is out of step, and the connection is dropped."""
    async with fake_redis(b"+PONG\r\n+EXTRA\r\n") as (port, connections):  # two replies to each command
        store = PipelinedRedis(f"redis://127.0.0.1:{port}/0")
        try:
            assert await store.execute_command("PING") == b"PONG"
            await asyncio.sleep(0.05)  # the extra reply arrives
            assert await store.execute_command("PING") == b"PONG"  # on a new connection
            assert len(connections) == 2
        finally:
            await store.aclose()


async def test_a_command_that_cannot_be_sent_leaves_the_others_in_step(redis_server: RedisServer) -> None:
    store = PipelinedRedis(redis_server.url)
    try:
        with pytest.raises(TypeError):
            await store.execute_command("ECHO", None)  # type: ignore[arg-type]
        replies = await asyncio.gather(*(ECHO.run(store, [], [f"after-{n}"]) for n in range(20)))
        assert replies == [f"after-{n}".encode() for n in range(20)]
    finally:
        await store.aclose()


async def test_a_connection_whose_tasks_were_cancelled_is_replaced(redis_server: RedisServer) -> None:
    """asyncio.run cancels every task at its end (the serverless worker); a call made after
    that must not wait for ever on a connection nobody reads."""
    store = PipelinedRedis(redis_server.url)
    try:
        assert await store.execute_command("PING") == b"PONG"
        assert store._link is not None
        for task in store._link._tasks:
            task.cancel()
        await asyncio.sleep(0)
        assert await asyncio.wait_for(store.execute_command("PING"), 2.0) == b"PONG"
        # A connection whose tasks are cancelled before they first ran (asyncio.run's end, just
        # after it was made) is broken too, not silent.
        fresh = _Link(*await asyncio.open_connection("127.0.0.1", redis_server.port), timeout=1.0)
        for task in fresh._tasks:
            task.cancel()
        await asyncio.sleep(0)
        with pytest.raises(RedisConnectionError):
            await asyncio.wait_for(fresh.call(("PING",)), 2.0)
        await fresh.close(RedisConnectionError("done"))
    finally:
        await store.aclose()


def private_redis(workdir: Path, password: str, *listen: str) -> subprocess.Popen[bytes]:
    """A redis-server of the test's own, listening as `listen` says, nothing saved."""
    command = ["redis-server", *listen, "--requirepass", password, "--save", "", "--appendonly", "no"]
    return subprocess.Popen([*command, "--dir", str(workdir)], stdout=subprocess.DEVNULL, start_new_session=True)


@pytest.fixture
def unix_redis(tmp_path: Path) -> Iterator[Path]:
    """A redis-server on a unix socket only, password "unix-secret"."""
    socket_path = tmp_path / "redis.sock"
    server = private_redis(tmp_path, "unix-secret", "--port", "0", "--unixsocket", str(socket_path))
    try:
        for _ in range(50):  # redis-server takes a moment to listen
            if socket_path.exists():
                break
            time.sleep(0.1)
        yield socket_path
    finally:
        stop(server)


async def test_a_unix_socket_url(unix_redis: Path) -> None:
    store = PipelinedRedis(f"unix://:unix-secret@{unix_redis}?db=2")
    try:
        await store.execute_command("SET", "where", "unix-db2")
    finally:
        await store.aclose()
    checker = Redis.from_url(f"unix://:unix-secret@{unix_redis}?db=2")
    assert await checker.get("where") == b"unix-db2"
    await checker.aclose()


async def test_a_store_that_is_not_there_fails_fast_with_a_store_error() -> None:
    for url in (f"redis://:pw@127.0.0.1:{free_port()}/0", "redis://:pw@a..b:6379/0"):  # refused; a bad host name
        store = PipelinedRedis(url)
        with pytest.raises(RedisConnectionError, match="Error connecting"):  # an error, not a wait
            await asyncio.wait_for(store.execute_command("PING"), timeout=10)
        await store.aclose()


async def test_auth_and_database_follow_the_url(redis_server: RedisServer) -> None:
    wrong = PipelinedRedis(redis_server.url.replace(redis_server.password, "not-the-password"))
    with pytest.raises(AuthenticationError):
        await wrong.execute_command("PING")
    await wrong.aclose()

    store = PipelinedRedis(redis_server.url.removesuffix("/0") + "/3")
    try:
        await store.execute_command("SET", "where", "db3")
    finally:
        await store.aclose()
    checker = Redis.from_url(redis_server.url.removesuffix("/0") + "/3")
    default = Redis.from_url(redis_server.url)
    assert await checker.get("where") == b"db3"
    assert await default.get("where") is None
    await checker.aclose()
    await default.aclose()


async def test_closing_fails_what_waits_and_refuses_what_follows(redis_server: RedisServer) -> None:
    store = PipelinedRedis(redis_server.url)
    assert await store.execute_command("PING") == b"PONG"
    blocked = asyncio.create_task(store.execute_command("BLPOP", "never", 5))  # waits in Redis
    watcher = Redis.from_url(redis_server.url)

    async def blocked_clients() -> int:
        return int((await watcher.info("clients"))["blocked_clients"])

    await eventually_async(blocked_clients)
    await watcher.aclose()
    await store.aclose()
    with pytest.raises(RedisConnectionError):
        await blocked
    with pytest.raises(RedisConnectionError, match="closed"):
        await store.execute_command("PING")


@pytest.fixture
def tls_redis(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A redis-server that speaks only TLS, with a certificate for 127.0.0.1 from a CA of its own."""
    ca_key, ca, key, csr, cert = (tmp_path / name for name in ("ca.key", "ca.pem", "r.key", "r.csr", "r.pem"))
    openssl = ["openssl"]
    subprocess.run(
        [
            *openssl,
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=test-ca",
            "-keyout",
            str(ca_key),
            "-out",
            str(ca),
        ],
        check=True,
        capture_output=True,
    )
    subprocess.run(
        [
            *openssl,
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            "/CN=127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(csr),
        ],
        check=True,
        capture_output=True,
    )
    extensions = tmp_path / "san.ext"
    extensions.write_text("subjectAltName=IP:127.0.0.1\n")
    subprocess.run(
        [
            *openssl,
            "x509",
            "-req",
            "-in",
            str(csr),
            "-CA",
            str(ca),
            "-CAkey",
            str(ca_key),
            "-CAcreateserial",
            "-days",
            "1",
            "-extfile",
            str(extensions),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    port = free_port()
    server = private_redis(
        tmp_path,
        "tls-secret",
        *("--port", "0", "--tls-port", str(port), "--tls-cert-file", str(cert), "--tls-key-file", str(key)),
        *("--tls-ca-cert-file", str(ca), "--tls-auth-clients", "no"),
    )
    try:
        yield f"rediss://:tls-secret@127.0.0.1:{port}/0", ca
    finally:
        stop(server)


async def test_tls_with_the_urls_certificate_options(tls_redis: tuple[str, Path]) -> None:
    url, ca = tls_redis
    store = PipelinedRedis(f"{url}?ssl_ca_certs={ca}", connect_timeout=2.0)
    try:
        for _ in range(50):  # redis-server takes a moment to listen
            try:
                assert await store.execute_command("PING") == b"PONG"
                break
            except RedisConnectionError:
                await asyncio.sleep(0.1)
        else:
            pytest.fail("the TLS redis-server never answered")
        assert await ECHO.run(store, [], ["over tls"]) == b"over tls"
    finally:
        await store.aclose()
    untrusted = PipelinedRedis(url)  # the system's CAs do not know this one
    with pytest.raises(RedisConnectionError):
        await untrusted.execute_command("PING")
    await untrusted.aclose()
