"""`python -m serving.serverless.runpod_worker`: the façade as a RunPod serverless worker.

Starts vLLM in this container when PEARCARE_RUNPOD_VLLM_MODEL is set (else the config's backends
are used), builds the same FastAPI app as `python -m serving` and serves each RunPod job through
it in-process: keys, limits, translation, usage, consultations and errors are the HTTP façade's.

The runpod SDK's own flags work: `--test_input '{"input": {...}}'` runs one job and exits (0, or
1 for a failed job); `--rp_serve_api --rp_api_port 8000` serves RunPod's local API (/runsync,
/run, /stream/{id}, /status/{id}); on RunPod, the worker takes jobs from the endpoint.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
from types import FrameType

import psutil
import runpod
from runpod.serverless.modules.rp_logger import RunPodLogger

from serving.app import create_app
from serving.backends.vllm_server import VllmServer, VllmStartError
from serving.observability.logs import configure_logging
from serving.serverless.handler import ColdStart, JobHandler
from serving.serverless.in_process import InProcessApp
from serving.serverless.settings import WorkerSettings, vllm_env
from serving.settings import ConfigError

log = logging.getLogger(__name__)


def _stop_on_sigterm(signum: int, frame: FrameType | None) -> None:
    """SIGTERM while vLLM loads (minutes on a GPU): leave through the `finally` that stops vLLM,
    which runs in a session of its own and would outlive us. Once the SDK runs, its own handler
    drains the jobs, and start() returns to the same `finally`."""
    raise SystemExit(0)


def _runs_one_local_job(argv: list[str], settings: WorkerSettings) -> bool:
    """The SDK runs one job through its local runner (--test_input, or test_input.json off
    RunPod), which does not iterate a generator handler; its API server and RunPod itself do."""
    if "--rp_serve_api" in argv or settings.realtime_port:
        return False
    test_input = any(arg == "--test_input" or arg.startswith("--test_input=") for arg in argv)
    return test_input or not settings.on_runpod


def main() -> int:
    cold_start = ColdStart(process_started=psutil.Process().create_time())
    settings = WorkerSettings()
    configure_logging("info", settings.log_format)
    RunPodLogger().set_level(settings.sdk_log_level)
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    vllm: VllmServer | None = settings.vllm_server()
    env = dict(os.environ)
    try:
        if vllm is not None:
            vllm.start()
            env.update(vllm_env(vllm))
        # The app (its config, the consultation's code set, ~5 s) is built while vLLM loads.
        config = settings.serving_config(env)
        app = InProcessApp(create_app(config))
        cold_start.mark("app_built")
        if vllm is not None:
            vllm.wait_ready(settings.vllm_ready_timeout)
            cold_start.mark("vllm_ready")
            log.info("vllm ready", extra={"pid": vllm.pid, "model": settings.vllm_served_model_name})
        endpoint_key = settings.endpoint_key.get_secret_value() if settings.endpoint_key else None
        handler = JobHandler(app, endpoint_key=endpoint_key, cold_start=cold_start)
        cold_start.mark("worker_ready")
        runpod.serverless.start(
            {
                "handler": handler.handle_once if _runs_one_local_job(sys.argv, settings) else handler.handle,
                "return_aggregate_stream": True,  # /run and /runsync answer with the list of outputs
                "concurrency_modifier": lambda current: settings.max_concurrency,
            }
        )
        return 0
    except (ConfigError, VllmStartError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2 if isinstance(exc, ConfigError) else 1
    finally:
        if vllm is not None:
            vllm.stop()


if __name__ == "__main__":
    sys.exit(main())
