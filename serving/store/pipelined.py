"""One Redis connection shared by every request, auto-pipelined: each command is one write, and
one reader task hands the replies back in the order the commands went out (what ioredis,
aioredis 1.x and Valkey GLIDE do).

Hand-written rather than redis-py's client, for the two script calls every request makes
(admission and settlement): redis-py's asyncio client checks a connection out of its pool and
back in for each command (two lock round trips, a read check of the socket, its observability
hooks). 20,000 EVALSHA calls 50 at once, wall time per call in one run of
loadtests/redis_client_cost.py: redis-py 41-48 µs, this connection 8 µs. Valkey GLIDE 2.6
pipelines too, in Rust, but its replies cross from its own thread back to the event loop:
36-39 µs. Everything else (keys, usage, audit, admin) stays on redis-py.

The connection follows the store URL: host and port or a unix socket, user and password (AUTH),
database (SELECT), and rediss:// with redis-py's own TLS options (ssl_*). Behind Sentinel, each
new connection asks the Sentinels for the primary and checks its ROLE; while connected it asks
again every half second and leaves a primary the Sentinels no longer name; a READONLY reply
(the primary was demoted while connected) drops the connection and the command goes once more.

Failures are redis-py's exception classes, so store.failure_policy keeps its meaning, and every
waiting request learns of one at the same moment:
- Connecting (and AUTH, SELECT) is one attempt shared by every caller that needs it: a Redis that
  accepts and never answers costs each waiting request one attempt (connect_timeout, then
  socket_timeout for the handshake), not its place in a queue of attempts. It fails with
  ConnectionError, TimeoutError (no answer to the handshake) or AuthenticationError, and is
  not retried (redis-py retried a connect once).
- A connection that breaks (reset, closed, a reply when no command waits) fails every command
  waiting on it with ConnectionError; one unanswered for socket_timeout (checked every tenth of
  it) fails them all with TimeoutError; either way the connection is dropped. Each such command
  is sent once more on a new connection, as redis-py's Retry(NoBackoff(), 1) did for both errors
  (after a Redis restart the old socket is dead). So one call waits at most about two attempts
  and two socket timeouts (~4.5 s with the 1 s defaults). As with redis-py, a command Redis ran
  before the connection broke may run twice. Unlike it, an error reply (LOADING, max clients)
  is raised, not retried.
- Error replies raise their redis-py class (NoScriptError, ResponseError, …) and leave the
  connection in use.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import ssl
from collections.abc import Awaitable, Callable
from typing import Any

import hiredis
from redis._parsers.base import BaseParser
from redis.asyncio.connection import SSLConnection, UnixDomainSocketConnection, parse_url
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import InvalidResponse, ReadOnlyError, RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

READ_SIZE = 65536
WATCH_FRACTION = 10  # the timeout watch wakes every socket_timeout / 10

Command = tuple[str | int | bytes, ...]


class PipelinedRedis:
    """execute_command() as redis-py's client has it, over one shared connection (made on first
    use, and again after it broke)."""

    def __init__(
        self,
        url: str,
        *,
        locate: Callable[[], Awaitable[tuple[str, int]]] | None = None,
        follow_seconds: float = 0.5,
        on_close: Callable[[], Awaitable[None]] | None = None,
        socket_timeout: float = 1.0,
        connect_timeout: float = 1.0,
    ) -> None:
        """`locate`: where to connect (host, port), asked before each connection: a Sentinel's
        current primary, which must then say it is one (ROLE), and asked again every
        `follow_seconds` while connected. Without it, the URL's host."""
        self._locate = locate
        self._on_close = on_close  # what `locate` holds open (its Sentinel connections)
        self._follow_seconds = follow_seconds
        self._following: asyncio.Task[None] | None = None
        options: dict[str, Any] = dict(parse_url(url))
        connection_class = options.pop("connection_class", None)
        self._unix_path: str | None = options.get("path") if connection_class is UnixDomainSocketConnection else None
        self._host: str = options.get("host", "localhost")
        self._port = int(options.get("port", 6379))
        self._username: str | None = options.get("username")
        self._password: str | None = options.get("password")
        self._db = int(options.get("db", 0))
        self._tls: ssl.SSLContext | None = None
        if connection_class is SSLConnection:
            self._tls = SSLConnection(**options).ssl_context.get()  # the URL's ssl_* options, as redis-py reads them
        self._socket_timeout = socket_timeout
        self._connect_timeout = connect_timeout
        self._link: _Link | None = None
        self._connecting: asyncio.Task[_Link] | None = None  # the one attempt every caller waits on
        self._closed = False

    @property
    def _where(self) -> str:
        return self._unix_path or f"{self._host}:{self._port}"

    async def execute_command(self, *command: str | int | bytes) -> Any:
        link = await self._connected()
        try:
            return await link.call(command)
        except (RedisConnectionError, RedisTimeoutError):
            if link.broken is None or self._closed:  # an error reply (e.g. NOAUTH), or closing
                raise
        except ReadOnlyError:
            if self._locate is None or self._closed:
                raise
            # The primary was demoted under us: drop it, ask the Sentinels again. (NOREPLICAS,
            # a primary short of replicas under min-replicas-to-write, is still the primary:
            # raised, it is a store error the policy answers and settlement retries.)
            link.drop(RedisConnectionError("The store's primary became a replica."))
        return await (await self._connected()).call(command)  # the connection broke: once more on a new one

    async def aclose(self) -> None:
        self._closed = True
        if self._following is not None:
            self._following.cancel()
            await asyncio.gather(self._following, return_exceptions=True)
        if self._connecting is not None:
            self._connecting.cancel()
            await asyncio.gather(self._connecting, return_exceptions=True)
        if self._link is not None:
            await self._link.close(RedisConnectionError("The store connection was closed."))
        if self._on_close is not None:
            await self._on_close()

    async def _connected(self) -> _Link:
        link = self._link
        if link is not None and link.broken is None:
            return link
        if self._closed:
            raise RedisConnectionError("The store connection was closed.")
        if self._connecting is None:
            self._connecting = asyncio.create_task(self._connect())
            self._connecting.add_done_callback(self._connect_done)
        attempt = self._connecting
        try:
            # Shielded: a caller that leaves (its client hung up) does not cancel the others' attempt.
            return await asyncio.shield(attempt)
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if attempt.cancelled() and not (current is not None and current.cancelling()):
                # aclose() stopped the attempt: a store error for the waiters, not their cancellation.
                raise RedisConnectionError("The store connection was closed.") from None
            raise
        except RedisError as exc:  # one each: raising sets its traceback
            raise type(exc)(*exc.args) from exc

    def _connect_done(self, attempt: asyncio.Task[_Link]) -> None:
        self._connecting = None
        if not attempt.cancelled() and attempt.exception() is None:
            self._link = attempt.result()
            if self._locate is not None and self._following is None and not self._closed:
                self._following = asyncio.create_task(self._follow(self._locate))

    async def _follow(self, locate: Callable[[], Awaitable[tuple[str, int]]]) -> None:
        """Leave a primary the Sentinels no longer name. A failover promotes the replica at
        once but demotes a live old primary only later (seconds): until then it still takes
        writes, which its resync then drops. Asking every half second bounds that window."""
        while not self._closed:
            await asyncio.sleep(self._follow_seconds)
            link = self._link
            if link is None or link.broken is not None:
                continue
            try:
                named = await locate()
            except Exception:  # no Sentinel answers (or answers nonsense): the connection itself says
                continue
            if named != (self._host, self._port):
                link.drop(RedisConnectionError(f"The Sentinels name another primary ({named[0]}:{named[1]})."))

    async def _connect(self) -> _Link:
        if self._locate is not None:
            self._host, self._port = await self._locate()
        try:
            if self._unix_path is not None:
                opening = asyncio.open_unix_connection(self._unix_path)
            else:
                opening = asyncio.open_connection(self._host, self._port, ssl=self._tls)
            reader, writer = await asyncio.wait_for(opening, self._connect_timeout)
        except Exception as exc:  # OSError (ssl.SSLError too), TimeoutError, UnicodeError for a bad host name
            raise RedisConnectionError(f"Error connecting to {self._where}: {type(exc).__name__}") from exc
        link = _Link(reader, writer, self._socket_timeout)
        try:  # the handshake's replies are bounded by the link's own timeout watch
            if self._password is not None:
                credentials = (self._username, self._password) if self._username else (self._password,)
                await link.call(("AUTH", *credentials))
            if self._db:
                await link.call(("SELECT", self._db))
            if self._locate is not None and (role := await link.call(("ROLE",))) and role[0] != b"master":
                # The Sentinels' answer is behind a failover: this one is a replica now.
                raise RedisConnectionError(f"The store at {self._where} is not the primary ({role[0]!r}).")
        except BaseException:
            await link.close(RedisConnectionError("The store connection could not be set up."))
            raise
        return link


class _Link:
    """One open connection: commands written in order, replies read in order."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, timeout: float) -> None:
        self._reader = reader
        self._writer = writer
        self._timeout = timeout
        # Error replies come back as redis-py's exception instances (a reply, not raised).
        self._parser = hiredis.Reader(protocolError=InvalidResponse, replyError=BaseParser.parse_error)
        self._waiting: collections.deque[tuple[asyncio.Future[Any], float]] = collections.deque()
        self._loop = asyncio.get_running_loop()
        self.broken: RedisError | None = None
        self._tasks = (asyncio.create_task(self._read_replies()), asyncio.create_task(self._watch_deadlines()))
        for task in self._tasks:  # however a task ends (cancelled before it first ran too), the link is broken
            task.add_done_callback(self._task_ended)

    async def call(self, command: Command) -> Any:
        packed = hiredis.pack_command(command)  # type: ignore[arg-type]  # its stub types a 1-tuple
        if self.broken is None and self._writer.is_closing():  # reset, and the reader has not run yet
            self._fail(RedisConnectionError("The store connection was reset."))
        if self.broken is not None:
            raise type(self.broken)(*self.broken.args)
        try:
            self._writer.write(packed)
        except Exception as exc:  # uvloop raises RuntimeError on a transport closed under it
            reason = RedisConnectionError(f"The store connection failed: {type(exc).__name__}")
            self._fail(reason)
            raise RedisConnectionError(*reason.args) from exc
        # Queued only once written, with no await in between: the queue is the order on the wire.
        reply = self._loop.create_future()
        self._waiting.append((reply, self._loop.time() + self._timeout))
        answer = await reply
        if isinstance(answer, RedisError):  # an error reply (AuthenticationError is not a ResponseError)
            raise answer
        return answer

    def drop(self, reason: RedisError) -> None:
        """Stop using this connection: every command waiting on it fails with `reason`."""
        self._fail(reason)

    async def close(self, reason: RedisError) -> None:
        self._fail(reason)
        await asyncio.gather(*self._tasks, return_exceptions=True)
        with contextlib.suppress(OSError, TimeoutError):
            await asyncio.wait_for(self._writer.wait_closed(), self._timeout)

    async def _read_replies(self) -> None:
        reason: RedisError = RedisConnectionError("The store connection was stopped.")  # cancelled
        try:
            while data := await self._reader.read(READ_SIZE):
                self._parser.feed(data)
                while (reply := self._parser.gets()) is not False:
                    if not self._waiting:
                        raise InvalidResponse("a reply no command asked for")
                    waiter, _ = self._waiting.popleft()
                    if not waiter.done():  # done: its caller was cancelled; the reply is dropped in order
                        waiter.set_result(reply)
            reason = RedisConnectionError("The store closed the connection.")
        except Exception as exc:  # OSError, InvalidResponse (out of step): every waiting call fails now
            reason = RedisConnectionError(f"The store connection failed: {type(exc).__name__}")
        finally:
            self._fail(reason)

    async def _watch_deadlines(self) -> None:
        """One timer for all commands, rather than one per command (the hot path pays nothing)."""
        while self.broken is None:
            await asyncio.sleep(self._timeout / WATCH_FRACTION)
            if self._waiting and self._waiting[0][1] < self._loop.time():
                self._fail(RedisTimeoutError("Timeout reading from the store."))

    def _task_ended(self, _: asyncio.Task[None]) -> None:
        self._fail(RedisConnectionError("The store connection was stopped."))

    def _fail(self, reason: RedisError) -> None:
        if self.broken is not None:
            return
        self.broken = reason
        while self._waiting:
            waiter, _ = self._waiting.popleft()
            if not waiter.done():
                waiter.set_exception(type(reason)(*reason.args))  # one each: raising sets its traceback
        # Aborted, not closed: a hung TLS peer would hold a close for its shutdown handshake.
        self._writer.transport.abort()
        for task in self._tasks:
            if task is not asyncio.current_task():
                task.cancel()
