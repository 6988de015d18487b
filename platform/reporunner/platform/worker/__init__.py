"""The arq worker: runs executions and ingestion jobs, heartbeats, reaps dead workers' work."""

from reporunner.platform.worker.app import build_worker, job_functions
from reporunner.platform.worker.node_services import PROVIDERS

__all__ = ["PROVIDERS", "build_worker", "job_functions"]
