"""Every provider fact the code, tests and notebooks cite can be followed from a clone: each
`smpp-facts §N` names a section of docs/provider-facts.md, and each source key such as (V9)
is listed in its §0 with a public address."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FACTS = ROOT / "docs" / "provider-facts.md"
CITATION = re.compile(r"smpp-facts(?:\.md)?\s*§\s*(\d+(?:\.\d+)?)")
SOURCE_KEY = re.compile(r"\((V\d+|K\d|C\d|L\d|P\d)\)")


def _citing_files() -> list[Path]:
    files = [ROOT / "README.md"]
    for folder, pattern in (("smppkit", "*.py"), ("tests", "*.py"), ("notebooks", "*.ipynb"),
                            ("benchmarks", "*.py")):
        files += sorted((ROOT / folder).rglob(pattern))
    return [f for f in files if f.exists()]


def _sections() -> set[str]:
    text = FACTS.read_text(encoding="utf-8")
    return set(re.findall(r"^#{2,3} (\d+(?:\.\d+)?)[. ]", text, re.M))


def _source_keys() -> set[str]:
    text = FACTS.read_text(encoding="utf-8")
    keys_table = text.split("## 0. Source keys", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| ([A-Z]\d+) \| \S", keys_table, re.M))


def test_every_cited_section_exists() -> None:
    sections = _sections()
    assert {"1.1", "1.9", "2.2", "5"} <= sections  # the parser reads the headings
    missing = {}
    for path in _citing_files():
        for number in CITATION.findall(path.read_text(encoding="utf-8")):
            if number not in sections:
                missing.setdefault(number, []).append(path.relative_to(ROOT).as_posix())
    assert not missing, f"citations of sections that docs/provider-facts.md lacks: {missing}"


def test_every_cited_source_key_is_listed() -> None:
    keys = _source_keys()
    assert {"V1", "V9", "K1", "K2"} <= keys
    unknown = {}
    for path in _citing_files():
        for key in SOURCE_KEY.findall(path.read_text(encoding="utf-8")):
            if key not in keys:
                unknown.setdefault(key, []).append(path.relative_to(ROOT).as_posix())
    assert not unknown, f"source keys not in docs/provider-facts.md §0: {unknown}"


def test_the_citation_pattern_reads_both_spellings() -> None:
    found = CITATION.findall("see smpp-facts §1.6 and smpp-facts.md §2.3, and smpp-facts §5")
    assert found == ["1.6", "2.3", "5"]
