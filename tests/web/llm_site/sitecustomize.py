"""Loaded by Python at start-up in a served process of the browser tests (this folder is put
first on its PYTHONPATH): registers the scripted LLM provider planned by the test process's
script server when ``REPORUNNER_TEST_LLM_SCRIPT`` names one (see ``tests/web/scripted_llm.py``)."""

import os

if os.environ.get("REPORUNNER_TEST_LLM_SCRIPT"):
    import scripted_llm

    scripted_llm.install(os.environ["REPORUNNER_TEST_LLM_SCRIPT"])
