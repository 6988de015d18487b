"""``reporunner kb ingest`` draws a progress bar per file: its final frame shows each file's
chunks done out of its total, and the file's state."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from reporunner.platform.cli import main


@pytest.fixture
async def owner(tenant_factory: Any) -> Any:
    return await tenant_factory(role="owner")


def test_kb_ingest_shows_a_progress_bar_per_file(
    services: Any,
    owner: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("DATABASE_URL", services.database_url)
    monkeypatch.setenv("REPORUNNER_DATA_DIR", str(tmp_path / "data"))
    folder = tmp_path / "files"
    folder.mkdir()
    (folder / "pumps.md").write_text(
        "\n\n".join(f"# Pump {n}\n\nPump {n} moves {n * 10} litres a minute." for n in range(6))
    )
    (folder / "prices.csv").write_text("item,price\nseal,12\nimpeller,80\nbearing,25\n")

    assert main(["kb", "ingest", "bars", str(folder), "--workspace", owner.slug]) == 0

    err = capsys.readouterr().err
    bars = {
        m.group(1): (int(m.group(2)), int(m.group(3)), m.group(4))
        for m in re.finditer(r"(pumps\.md|prices\.csv)\s+\S*━\S*\s+(\d+)/(\d+)\s+(\w+)", err)
    }
    assert set(bars) == {"pumps.md", "prices.csv"}, err
    for done, total, status in bars.values():
        assert done == total > 0
        assert status == "ready"
    assert bars["prices.csv"][1] == 3  # one chunk per CSV row
    assert "2 file(s) ready, 0 failed" in err
