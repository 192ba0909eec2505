"""`python -m serving [--config FILE] [--host H] [--port P]`: run the façade.
`python -m serving keys ...`: manage API keys (see serving/access/cli.py).
`python -m serving tenants ...`, `python -m serving spend ...`: tenants and spend (serving/access/tenant_cli.py).
`python -m serving audit verify|export`: the audit trail (see serving/audit/cli.py)."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import uvicorn

from serving.app import create_app
from serving.observability.logs import configure_logging
from serving.observability.metrics import Metrics
from serving.settings import ConfigError, Settings


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["keys"]:
        from serving.access import cli

        return cli.main(argv[1:])
    if argv[:1] == ["tenants"]:
        from serving.access import tenant_cli

        return tenant_cli.main(argv[1:])
    if argv[:1] == ["spend"]:
        from serving.access import tenant_cli

        return tenant_cli.spend_main(argv[1:])
    if argv[:1] == ["audit"]:
        from serving.audit import cli as audit_cli

        return audit_cli.main(argv[1:])
    parser = argparse.ArgumentParser(prog="python -m serving", description=__doc__)
    parser.add_argument("--config", type=Path, help="YAML config (default: configs/serving.yaml)")
    parser.add_argument("--host", help="bind address (default: from the config file)")
    parser.add_argument("--port", type=int, help="port (default: from the config file)")
    parser.add_argument("--workers", type=int, help="worker processes (default: from the config file)")
    args = parser.parse_args(argv)

    given = (("config_path", args.config), ("host", args.host), ("port", args.port), ("workers", args.workers))
    overrides = {k: v for k, v in given if v}
    settings = Settings(**overrides)
    configure_logging(fmt=settings.log_format)
    try:
        config = settings.load()
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    configure_logging(config.server.log_level, settings.log_format)
    server = config.server
    common: dict[str, Any] = {
        "host": server.host,
        "port": server.port,
        "loop": "uvloop",
        "http": "httptools",
        "log_config": None,
        "access_log": False,
        "timeout_graceful_shutdown": int(server.graceful_shutdown_seconds),
    }
    # prometheus_client switches to multiprocess mode whenever PROMETHEUS_MULTIPROC_DIR is set;
    # several workers need it (their metrics are written to files and added up at /metrics).
    multiproc_dir = settings.metrics_multiprocess_dir
    if multiproc_dir is None and server.workers > 1:
        multiproc_dir = Path(tempfile.mkdtemp(prefix="pearcare-metrics-"))
    if multiproc_dir is not None:
        multiproc_dir.mkdir(parents=True, exist_ok=True)
        for stale in multiproc_dir.glob("*.db"):
            stale.unlink()
    if server.workers == 1:
        metrics = Metrics(multiprocess=multiproc_dir is not None)
        if server.metrics_port is not None:
            metrics.serve_on_port(server.host, server.metrics_port)
        uvicorn.run(create_app(config, metrics=metrics), **common)
        return 0
    assert multiproc_dir is not None
    os.environ.update(
        {
            "PROMETHEUS_MULTIPROC_DIR": str(multiproc_dir),
            "PEARCARE_CONFIG_PATH": str(settings.config_path),
            "PEARCARE_HOST": server.host,
            "PEARCARE_PORT": str(server.port),
        }
    )
    if server.metrics_port is not None:  # the parent adds up every worker's metric files
        Metrics(multiprocess=True).serve_on_port(server.host, server.metrics_port)
    uvicorn.run("serving.app:app_from_environment", factory=True, workers=server.workers, **common)
    return 0


if __name__ == "__main__":
    sys.exit(main())
