"""The README shows the lifecycle as the code defines it: the diagram and the role table are generated."""

import re
from pathlib import Path

import pytest

from workflows.lifecycle import mermaid, role_table

README = (Path(__file__).parent.parent / "README.md").read_text()


@pytest.mark.parametrize(("block", "expected"), [("mermaid", f"```mermaid\n{mermaid()}\n```"), ("roles", role_table())])
def test_readme_block_matches_the_lifecycle(block: str, expected: str):
    found = re.search(rf"<!-- lifecycle:{block} -->\n(.*?)\n<!-- /lifecycle:{block} -->", README, re.S)
    assert found, f"README.md lost its lifecycle:{block} block"
    assert found.group(1) == expected, f"README.md's lifecycle:{block} block is stale; it should read:\n{expected}"
