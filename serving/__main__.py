"""`python -m serving [--config FILE] [--host H] [--port P]`: run the façade.
`python -m serving keys ...`: manage API keys (see serving/keys_cli.py)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import uvicorn

from serving.app import create_app
from serving.logs import configure_logging
from serving.settings import ConfigError, Settings


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["keys"]:
        from serving import keys_cli

        return keys_cli.main(argv[1:])
    parser = argparse.ArgumentParser(prog="python -m serving", description=__doc__)
    parser.add_argument("--config", type=Path, help="YAML config (default: configs/serving.yaml)")
    parser.add_argument("--host", help="bind address (default: from the config file)")
    parser.add_argument("--port", type=int, help="port (default: from the config file)")
    args = parser.parse_args(argv)

    overrides = {k: v for k, v in (("config_path", args.config), ("host", args.host), ("port", args.port)) if v}
    settings = Settings(**overrides)
    configure_logging(fmt=settings.log_format)
    try:
        config = settings.load()
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    configure_logging(config.server.log_level, settings.log_format)
    uvicorn.run(
        create_app(config),
        host=config.server.host,
        port=config.server.port,
        loop="uvloop",
        http="httptools",
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=int(config.server.graceful_shutdown_seconds),
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
