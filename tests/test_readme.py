"""The README opens with the two set-up commands, its links and the folder READMEs resolve
inside the repository, and its Development table lists exactly the Makefile's targets."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
TOP_FOLDERS = ("platform", "agents", "nodes", "knowledge", "migrations", "tests", "bench")


def _markdown_files() -> list[Path]:
    pages = [ROOT / "README.md", ROOT / "CHANGELOG.md", *sorted((ROOT / "docs").glob("*.md"))]
    return pages + [ROOT / folder / "README.md" for folder in TOP_FOLDERS]


def test_readme_opens_with_the_two_commands() -> None:
    first_block = README.split("```bash", 1)[1].split("```", 1)[0]
    commands = [line.split("#")[0].strip() for line in first_block.strip().splitlines()]
    assert commands == ["make run", "make test"]


def test_every_top_folder_has_a_readme_saying_what_it_may_import() -> None:
    for folder in TOP_FOLDERS:
        text = (ROOT / folder / "README.md").read_text()
        assert "May import:" in text, f"{folder}/README.md does not say what it may import"


def test_links_resolve_inside_the_repository() -> None:
    for page in _markdown_files():
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", page.read_text()):
            if target.startswith(("http://", "https://", "mailto:")):
                continue
            resolved = (page.parent / target).resolve()
            assert resolved.is_relative_to(ROOT), f"{page.name} links outside the repo: {target}"
            assert resolved.exists(), f"{page.name} links to a missing file: {target}"


def test_no_page_points_at_files_outside_the_repository() -> None:
    for page in _markdown_files():
        assert "../shared/" not in page.read_text(), f"{page.name} names a file outside the repo"


def test_the_development_table_lists_every_make_target() -> None:
    makefile = (ROOT / "Makefile").read_text()
    targets = set(re.findall(r"^([a-z-]+):.*## ", makefile, flags=re.MULTILINE)) - {"help"}
    development = README.split("## Development", 1)[1].split("\n## ", 1)[0]
    listed = set(re.findall(r"^\| `make ([a-z-]+)", development, flags=re.MULTILINE))
    assert targets == listed


def test_the_changelog_keeps_a_changelog_form() -> None:
    changelog = (ROOT / "CHANGELOG.md").read_text()
    versions = re.findall(r"^## \[([^\]]+)\]", changelog, flags=re.MULTILINE)
    assert versions[0] == "Unreleased"
    assert len(versions) > 1
    assert all(re.fullmatch(r"\d+\.\d+\.\d+", v) for v in versions[1:])
    project = (ROOT / "pyproject.toml").read_text()
    version = re.search(r'^version = "([^"]+)"', project, flags=re.MULTILINE)
    assert version is not None
    assert version.group(1) in versions
