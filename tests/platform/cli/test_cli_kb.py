"""``reporunner kb``: ingest with progress, search with citations, list; the API sees it all."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from reporunner.platform.api.app import create_app
from reporunner.platform.cli import main
from reporunner.platform.settings import Settings

REPORUNNER = str(Path(sys.executable).parent / "reporunner")


def _pdf(pages: list[str]) -> bytes:
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4)
    for page in pages:
        pdf.drawString(50, 800, page)
        pdf.showPage()
    pdf.save()
    return buffer.getvalue()


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "corpus"
    (folder / "sub").mkdir(parents=True)
    (folder / "manual.pdf").write_bytes(
        _pdf(["Installation on a flat floor.", "Replace the impeller seal every 2000 hours."])
    )
    (folder / "sub" / "notes.md").write_text("# Alerts\n\nThe dashboard shows vibration alerts.\n")
    (folder / "broken.pdf").write_bytes(b"%PDF-1.7\nnot really a pdf\n")
    (folder / ".secret").write_text("hidden files are skipped")
    return folder


@pytest.fixture
async def cli_tenant(tenant_factory: Any) -> Any:
    return await tenant_factory(role="owner")


@pytest.fixture
def cli_env(services: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    data_dir = tmp_path / "data"
    monkeypatch.setenv("DATABASE_URL", services.database_url)
    monkeypatch.setenv("REPORUNNER_DATA_DIR", str(data_dir))
    return data_dir


def test_kb_ingest_search_list_in_a_workspace(
    cli_env: Path, cli_tenant: Any, corpus: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = ["--workspace", cli_tenant.slug]
    assert main(["kb", "ingest", "handbook", str(corpus), *ws]) == 1  # one file failed
    err = capsys.readouterr().err
    assert "2 file(s) ready, 1 failed" in err
    assert "broken.pdf" in err
    assert "failed" in err
    assert ".secret" not in err

    assert main(["kb", "ingest", "handbook", str(corpus / "manual.pdf"), *ws]) == 0
    assert "unchanged" in capsys.readouterr().err

    assert main(["kb", "search", "handbook", "how often to replace the impeller seal", *ws]) == 0
    out = capsys.readouterr().out
    first = next(line for line in out.splitlines() if line.lstrip("│ ").startswith("1 "))
    assert "manual.pdf" in first
    assert "page 2" in first

    assert main(["kb", "search", "handbook", "vibration alerts", "--mode", "keyword", *ws]) == 0
    out = capsys.readouterr().out
    assert "notes.md" in out
    assert "Alerts" in out

    assert main(["kb", "list", *ws]) == 0
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if "handbook" in line)
    assert "all-MiniLM-L6-v2 (384)" in row
    cells = [c.strip() for c in row.split("│") if c.strip()]
    assert cells[2:5] == ["3", "2", "1"]  # documents, ready, failed


async def test_the_api_sees_what_the_cli_ingested(
    cli_env: Path, cli_tenant: Any, corpus: Path, settings: Settings
) -> None:
    import asyncio

    code = await asyncio.to_thread(
        main,
        ["kb", "ingest", "manuals", str(corpus / "manual.pdf"), "--workspace", cli_tenant.slug],
    )
    assert code == 0
    app = create_app(settings.model_copy(update={"data_dir": cli_env}))
    async with AsyncTestClient(app) as client:
        bases = (await client.get("/knowledge-bases", headers=cli_tenant.headers)).json()
        [base] = [b for b in bases if b["name"] == "manuals"]
        [doc] = (
            await client.get(f"/knowledge-bases/{base['id']}/documents", headers=cli_tenant.headers)
        ).json()
        assert doc["status"] == "ready"
        original = await client.get(
            f"/knowledge-bases/{base['id']}/documents/{doc['id']}/original",
            headers=cli_tenant.headers,
        )
        assert original.content == (corpus / "manual.pdf").read_bytes()


def test_kb_errors_are_one_line(
    cli_env: Path, cli_tenant: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = ["--workspace", cli_tenant.slug]
    assert main(["kb", "search", "nothing-here", "query", *ws]) == 2
    assert "has no knowledge base 'nothing-here'" in capsys.readouterr().err
    assert main(["kb", "list", "--workspace", "no-such-workspace"]) == 2
    assert "no workspace 'no-such-workspace'" in capsys.readouterr().err
    assert main(["kb", "ingest", "x", str(tmp_path / "missing.txt"), *ws]) == 2
    assert "no such file or folder" in capsys.readouterr().err


def test_kb_on_the_embedded_data_directory_without_a_server(tmp_path: Path, corpus: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(REPORUNNER_DATA_DIR=str(tmp_path / "embedded"), HF_HUB_OFFLINE="1")
    notes = str(corpus / "sub" / "notes.md")
    ingest = subprocess.run(
        [REPORUNNER, "kb", "ingest", "notes", notes], env=env, capture_output=True, text=True,
        timeout=90,
    )  # fmt: skip
    assert ingest.returncode == 0, ingest.stderr
    assert "first start: workspace 'default'" in ingest.stderr
    assert "1 file(s) ready, 0 failed" in ingest.stderr
    listed = subprocess.run(
        [REPORUNNER, "kb", "list"], env=env, capture_output=True, text=True, timeout=60
    )
    assert listed.returncode == 0, listed.stderr
    row = next(line for line in listed.stdout.splitlines() if "notes" in line)
    cells = [c.strip() for c in row.split("│") if c.strip()]
    assert cells[2:5] == ["1", "1", "0"]  # documents, ready, failed


def test_kb_ingest_joins_a_running_server_and_leaves_it_running(
    tmp_path: Path, corpus: Path
) -> None:
    import socket
    import time

    import httpx

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    token = "rr_kbtest01_" + "k" * 32
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(
        REPORUNNER_DATA_DIR=str(tmp_path / "served"),
        REPORUNNER_BOOTSTRAP_TOKEN=token,
        HF_HUB_OFFLINE="1",
    )
    log = (tmp_path / "serve.log").open("w")
    server = subprocess.Popen(
        [REPORUNNER, "serve", "--port", str(port), "--no-worker"],
        env=env, stdout=log, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, (tmp_path / "serve.log").read_text()
            try:
                if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "serve did not get ready"
            time.sleep(0.2)
        ingest = subprocess.run(
            [REPORUNNER, "kb", "ingest", "served-kb", str(corpus / "sub" / "notes.md")],
            env=env, capture_output=True, text=True, timeout=90,
        )  # fmt: skip
        assert ingest.returncode == 0, ingest.stderr
        assert "first start" not in ingest.stderr  # the server's workspace is used
        headers = {"Authorization": f"Bearer {token}"}
        assert httpx.get(f"{base}/readyz", timeout=5).status_code == 200  # postgres still up
        bases = httpx.get(f"{base}/knowledge-bases", headers=headers, timeout=10).json()
        [served] = [b for b in bases if b["name"] == "served-kb"]
        hits = httpx.post(
            f"{base}/knowledge-bases/{served['id']}/search",
            json={"query": "vibration alerts", "mode": "keyword"},
            headers=headers,
            timeout=30,
        ).json()["hits"]
        assert hits[0]["document_name"] == "notes.md"
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()
