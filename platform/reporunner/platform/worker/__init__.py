"""The arq worker: runs executions and ingestion jobs, heartbeats, reaps dead workers' work."""

from reporunner.platform.worker.app import build_worker, job_functions

__all__ = ["build_worker", "job_functions"]
