"""`python -m loadtests.devstack`: the whole stack on its embedded defaults, for development.

Starts the real vLLM CPU server with the small Gemma 3 model, then the façade in front of it,
and prints the base URL and a development API key (made once, kept outside git).

Keys, limits and usage go to a private redis-server started beside it when one is installed
(as fast as production's store: the in-process one runs the same Lua through an interpreter,
a few milliseconds a request); without one, or with --embedded-store, they stay in-process.
REDIS_URL set: that Redis.

Tracing is off unless PEARCARE_OTLP_TRACES_ENDPOINT names a collector (OTLP/HTTP, e.g.
http://127.0.0.1:4318/v1/traces): then the façade and vLLM both send their spans there.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import signal
import sys
from pathlib import Path

import redis
import uvicorn

from loadtests.devstack.redis_server import RedisServer
from loadtests.devstack.vllm_cpu import CACHE_DIR, DEFAULT_MODEL_DIR, DEFAULT_VLLM_PYTHON, VllmCpuServer, VllmStartError
from serving.app import create_app
from serving.observability.logs import configure_logging
from serving.settings import DEFAULT_CONFIG, ConfigError, load_config

DEV_KEY_FILE = CACHE_DIR / "dev-api-key"


def development_key() -> str:
    """DEV_API_KEY if set, else a key generated once and kept (mode 0600) in the cache folder."""
    if os.environ.get("DEV_API_KEY"):
        return os.environ["DEV_API_KEY"]
    if DEV_KEY_FILE.exists():
        return DEV_KEY_FILE.read_text().strip()
    DEV_KEY_FILE.parent.mkdir(parents=True, exist_ok=True)
    key = "sk-dev-" + secrets.token_urlsafe(32)
    DEV_KEY_FILE.touch(mode=0o600)
    DEV_KEY_FILE.write_text(key + "\n")
    return key


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m loadtests.devstack", description=__doc__)
    parser.add_argument("--config", type=Path, default=DEFAULT_CONFIG)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--vllm-port", type=int, default=8011)
    parser.add_argument("--vllm-python", type=Path, default=DEFAULT_VLLM_PYTHON)
    parser.add_argument("--model-dir", type=Path, default=DEFAULT_MODEL_DIR)
    parser.add_argument("--embedded-store", action="store_true", help="keys and limits in-process, not in Redis")
    args = parser.parse_args(argv)

    configure_logging("info", "text")
    key = development_key()
    vllm_log = CACHE_DIR / "vllm.log"
    vllm = VllmCpuServer(
        python=str(args.vllm_python),
        model=str(args.model_dir),
        port=args.vllm_port,
        log_path=vllm_log,
        api_key=secrets.token_hex(24),  # only the façade talks to vLLM
        otlp_traces_endpoint=os.environ.get("PEARCARE_OTLP_TRACES_ENDPOINT") or None,  # the façade's collector
    )
    env = {**os.environ, "DEV_API_KEY": key, "VLLM_BASE_URL": vllm.base_url, "VLLM_API_KEY": vllm.api_key or ""}
    # SIGTERM (kill, docker stop, an IDE's stop button) takes the Ctrl-C path from here on, so
    # every `finally` below runs: leaving them stops vLLM and the redis-server, which live in
    # sessions of their own (a terminal's Ctrl-C does not reach them). uvicorn re-raises the
    # signal once it has shut down, and Python's default SIGTERM action would end this process
    # there and orphan them.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    store: RedisServer | None = None
    try:
        if not env.get("REDIS_URL") and not args.embedded_store and shutil.which("redis-server"):
            store_dir = CACHE_DIR / "redis"
            store_dir.mkdir(parents=True, exist_ok=True)
            store = RedisServer(store_dir)
            store.start()
            env["REDIS_URL"] = store.url
            print(f"Keys and limits in a private redis-server on port {store.port}", flush=True)
        return _serve(args, key, vllm, vllm_log, env)
    except KeyboardInterrupt:
        return 0
    except (OSError, RuntimeError, redis.RedisError) as exc:  # the redis-server did not start
        print(f"error: the private redis-server did not start ({exc}); use --embedded-store", file=sys.stderr)
        return 1
    finally:
        if store is not None:
            store.stop()


def _serve(args: argparse.Namespace, key: str, vllm: VllmCpuServer, vllm_log: Path, env: dict[str, str]) -> int:
    try:
        config = load_config(args.config, env)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    config = config.model_copy(
        update={"server": config.server.model_copy(update={"host": args.host, "port": args.port})}
    )
    print(f"Starting vLLM CPU ({args.model_dir.name}) on {vllm.base_url}; log: {vllm_log}", flush=True)
    try:
        with vllm:
            base_url = f"http://{args.host}:{args.port}/v1"
            print(
                "\nPear Care serving is up.\n"
                f"  base URL:  {base_url}\n"
                f"  API key:   {key}\n"
                f"  models:    {', '.join([*config.models, *(['consultation'] if config.consultation else [])])}\n"
                f"  try:       curl {base_url}/chat/completions -H 'Authorization: Bearer {key}' "
                "-H 'Content-Type: application/json' "
                '-d \'{"model": "medgemma", "messages": [{"role": "user", "content": "Hello"}], '
                '"max_tokens": 32}\'\n',
                flush=True,
            )
            uvicorn.run(
                create_app(config),
                host=args.host,
                port=args.port,
                loop="uvloop",
                http="httptools",
                log_config=None,
                access_log=False,
            )
    except VllmStartError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
