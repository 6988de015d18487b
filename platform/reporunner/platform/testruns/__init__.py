"""Runs of a workflow version's test cases on workers: start, follow, and the publish gate.

``POST /workflows/{id}/tests/run`` stores a ``workflow_test_runs`` row and queues the
``run_workflow_tests`` job; a worker runs the cases (``reporunner.platform.workflows.testing``)
with the workspace's credentials and the run services, and stores the report on the row.
"""

from reporunner.platform.testruns.service import (
    TestRunOut,
    TestRunRequest,
    execute_test_run,
    get_test_run,
    list_test_runs,
    start_test_run,
    wait_for_test_run,
)

__all__ = [
    "TestRunOut",
    "TestRunRequest",
    "execute_test_run",
    "get_test_run",
    "list_test_runs",
    "start_test_run",
    "wait_for_test_run",
]
