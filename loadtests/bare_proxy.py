"""The floor for the overhead benchmark: the least a Python hop can add on this machine.

A bare reverse proxy (aiohttp server + aiohttp client, uvloop): no auth, no limits, no
validation, no metrics, no logs; it forwards the body and relays the response chunks as they
come. What it adds to TTFT is the price of one more process and two more sockets in the path;
what the façade adds beyond it is the price of its features.

    python -m loadtests.bare_proxy --port 9100 --upstream http://127.0.0.1:9000/v1
"""

from __future__ import annotations

import argparse
import sys

import aiohttp
from aiohttp import web

HOP_BY_HOP = {"content-length", "transfer-encoding", "connection", "keep-alive"}


def make_app(upstream: str) -> web.Application:
    app = web.Application()
    session: dict[str, aiohttp.ClientSession] = {}

    async def start(_: web.Application) -> None:
        session["client"] = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))

    async def stop(_: web.Application) -> None:
        await session["client"].close()

    async def health(_: web.Request) -> web.Response:
        return web.Response(text="ok")

    async def relay(request: web.Request) -> web.StreamResponse:
        body = await request.read()
        url = upstream + request.match_info["path"]
        headers = {"content-type": "application/json"}
        async with session["client"].post(url, data=body, headers=headers) as upstream_response:
            response = web.StreamResponse(
                status=upstream_response.status,
                headers={k: v for k, v in upstream_response.headers.items() if k.lower() not in HOP_BY_HOP},
            )
            await response.prepare(request)
            async for chunk in upstream_response.content.iter_any():
                await response.write(chunk)
            await response.write_eof()
            return response

    app.on_startup.append(start)
    app.on_cleanup.append(stop)
    app.router.add_get("/health", health)
    app.router.add_post("/v1/{path:.*}", relay)
    return app


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m loadtests.bare_proxy", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--upstream", required=True, help="the upstream's /v1 URL")
    args = parser.parse_args(argv)
    import uvloop

    uvloop.install()
    web.run_app(make_app(args.upstream.rstrip("/") + "/"), host=args.host, port=args.port, print=None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
