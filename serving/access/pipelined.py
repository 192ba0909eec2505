"""One Redis connection shared by every request, auto-pipelined: each command is one write, and
one reader task hands the replies back in the order the commands went out (what ioredis,
aioredis 1.x and Valkey GLIDE do).

Hand-written rather than redis-py's client, for the two script calls every request makes
(admission and settlement): redis-py's asyncio client checks a connection out of its pool and
back in for each command (two lock round trips, a read check of the socket, its observability
hooks), 62-78 µs per call at 50 concurrent against 7-15 µs for one pipelined connection
(loadtests/redis_client_cost.py). Valkey GLIDE 2.6 pipelines too, in Rust, but its replies
cross from its own thread back to the event loop: 36-39 µs per call in the same measurement
(redis-py 43-48, this 8). Everything else (keys, usage, audit, admin) stays on
redis-py. The connection follows the same URL: host, port, user and password (AUTH), database
(SELECT), and rediss:// with redis-py's own TLS options.

Failures read as redis-py's: a connection that cannot be made, breaks or is closed raises
ConnectionError for every command waiting on it (each is retried once on a new connection, as
the pool retried a dead socket after a Redis restart); a command unanswered for socket_timeout
raises TimeoutError and drops the connection, as redis-py does; error replies raise their
redis-py class (NoScriptError, ResponseError, …) and leave the connection in use."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import ssl
from typing import Any

import hiredis
from redis._parsers.base import BaseParser
from redis.asyncio.connection import SSLConnection, parse_url
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import InvalidResponse, RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

log = logging.getLogger(__name__)

READ_SIZE = 65536


class PipelinedRedis:
    """execute_command() as redis-py's client has it, over one shared connection (made on first
    use, and again after it broke)."""

    def __init__(self, url: str, *, socket_timeout: float = 1.0, connect_timeout: float = 1.0) -> None:
        options: dict[str, Any] = dict(parse_url(url))
        self._host: str = options.get("host", "localhost")
        self._port = int(options.get("port", 6379))
        self._username: str | None = options.get("username")
        self._password: str | None = options.get("password")
        self._db = int(options.get("db", 0))
        self._tls: ssl.SSLContext | None = None
        if options.pop("connection_class", None) is SSLConnection:
            self._tls = SSLConnection(**options).ssl_context.get()  # the URL's ssl_* options, as redis-py reads them
        self._socket_timeout = socket_timeout
        self._connect_timeout = connect_timeout
        self._link: _Link | None = None
        self._connecting = asyncio.Lock()
        self._closed = False

    async def execute_command(self, *command: str | int | bytes) -> Any:
        try:
            return await self._once(command)
        except RedisConnectionError:  # a dead socket (Redis restarted): once more on a new one
            if self._closed:
                raise
            return await self._once(command)

    async def aclose(self) -> None:
        self._closed = True
        if self._link is not None:
            await self._link.close(RedisConnectionError("The store connection was closed."))

    async def _once(self, command: tuple[str | int | bytes, ...]) -> Any:
        link = self._link
        if link is None or link.broken:
            link = await self._connect()
        return await link.call(command)

    async def _connect(self) -> _Link:
        async with self._connecting:  # callers that arrive meanwhile wait for this one connection
            if self._link is not None and not self._link.broken:
                return self._link
            if self._closed:
                raise RedisConnectionError("The store connection was closed.")
            try:
                reader, writer = await asyncio.wait_for(
                    asyncio.open_connection(self._host, self._port, ssl=self._tls), self._connect_timeout
                )
            except (OSError, TimeoutError) as exc:
                raise RedisConnectionError(
                    f"Error connecting to {self._host}:{self._port}: {type(exc).__name__}"
                ) from exc
            link = _Link(reader, writer, self._socket_timeout)
            try:
                if self._password is not None:
                    credentials = (self._username, self._password) if self._username else (self._password,)
                    await link.call(("AUTH", *credentials))
                if self._db:
                    await link.call(("SELECT", self._db))
            except BaseException:
                await link.close(RedisConnectionError("The store connection could not be set up."))
                raise
            if self._closed:  # closed while this connection was being made
                await link.close(RedisConnectionError("The store connection was closed."))
                raise RedisConnectionError("The store connection was closed.")
            self._link = link
            return link


class _Link:
    """One open connection: commands written in order, replies read in order."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, timeout: float) -> None:
        self._reader = reader
        self._writer = writer
        self._timeout = timeout
        # Error replies come back as redis-py's exception instances (not raised: a reply).
        self._parser = hiredis.Reader(protocolError=InvalidResponse, replyError=BaseParser.parse_error)
        self._waiting: collections.deque[tuple[asyncio.Future[Any], float]] = collections.deque()
        self._loop = asyncio.get_running_loop()
        self.broken: RedisError | None = None
        self._tasks = (asyncio.create_task(self._read_replies()), asyncio.create_task(self._watch_deadlines()))

    async def call(self, command: tuple[str | int | bytes, ...]) -> Any:
        if self.broken is not None:
            raise type(self.broken)(*self.broken.args)
        reply = self._loop.create_future()
        self._waiting.append((reply, self._loop.time() + self._timeout))
        self._writer.write(hiredis.pack_command(command))  # type: ignore[arg-type]  # its stub types a 1-tuple
        answer = await reply
        if isinstance(answer, RedisError):  # an error reply (AuthenticationError is not a ResponseError)
            raise answer
        return answer

    async def close(self, reason: RedisError) -> None:
        self._fail(reason)
        for task in self._tasks:
            if task is not asyncio.current_task():
                task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        with contextlib.suppress(OSError, ssl.SSLError):  # closing a connection that already broke
            await self._writer.wait_closed()

    async def _read_replies(self) -> None:
        try:
            while data := await self._reader.read(READ_SIZE):
                self._parser.feed(data)
                while (reply := self._parser.gets()) is not False:
                    if not self._waiting:
                        raise InvalidResponse("a reply no command asked for")
                    waiter, _ = self._waiting.popleft()
                    if not waiter.done():  # done: its caller was cancelled; the reply is dropped in order
                        waiter.set_result(reply)
            self._fail(RedisConnectionError("The store closed the connection."))
        except Exception as exc:  # OSError, InvalidResponse (out of step): every waiting call fails now
            self._fail(RedisConnectionError(f"The store connection failed: {type(exc).__name__}"))

    async def _watch_deadlines(self) -> None:
        """One timer for all commands, rather than one per command (the hot path pays nothing)."""
        while self.broken is None:
            await asyncio.sleep(self._timeout / 4)
            if self._waiting and self._waiting[0][1] < self._loop.time():
                self._fail(RedisTimeoutError("Timeout reading from the store."))

    def _fail(self, reason: RedisError) -> None:
        if self.broken is not None:
            return
        self.broken = reason
        while self._waiting:
            waiter, _ = self._waiting.popleft()
            if not waiter.done():
                waiter.set_exception(type(reason)(*reason.args))  # one each: raising sets its traceback
        self._writer.close()
        for task in self._tasks:
            if task is not asyncio.current_task():
                task.cancel()
