"""The fact index, docs/facts.md (rnnspec.tool.index): current, and true to the seed documents."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from rnnspec.sources import DOCS_LSTM, ISSUE_RNN_BOOL_SIZES, SEED_000, SEED_003
from rnnspec.tool import index

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT.parent / "shared" / "seeds"  # where the README says the seed documents are

PROBE = """
import json
from rnnspec.tool import index
collected = index.collect()
print(json.dumps({
    "current": index.PAGE.read_text() == index.render(collected) if index.PAGE.exists() else False,
    "missing": index.stale_references(collected),
    "quotes": sorted(
        [f.source, f.quote] for f in collected.facts.values() if f.quote
    ) + sorted([seed, quote] for seed, g in collected.general.items() for quote in g),
    "unquoted_seed_facts": sorted(
        f.test for f in collected.facts.values() if f.source in index.SEED_TITLES and not f.quote
    ),
}))
"""


# The tests that read `collected` share one worker, so the suite is collected once a run.
pytestmark = pytest.mark.xdist_group("fact-index")


@pytest.fixture(scope="module")
def collected() -> dict[str, Any]:
    """The index's view of the suite, collected in a fresh process (nothing runs)."""
    out = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, cwd=ROOT, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_committed_fact_index_is_current(collected):
    """docs/facts.md is what `rnnspec index` writes for the specs as they are: regenerate it with
    `uv run rnnspec index` after adding, renaming or rewording a fact."""
    assert collected["current"], f"docs/facts.md is stale: run `{index.REGENERATE}`"


def test_general_facts_name_existing_tests(collected):
    """Every seed sentence a seed module hands to a general fact (GENERAL_FACTS) names a test that
    exists."""
    assert collected["missing"] == []


def test_every_seed_fact_quotes_its_seed(collected):
    """Every fact whose source is a seed document carries the seed's own sentence (`quote=`)."""
    assert collected["unquoted_seed_facts"] == []


def _normalised(text: str) -> str:
    return " ".join(text.split())


def test_every_quote_is_the_seeds_own_words(collected):
    """Each line of every quote (fact marks and GENERAL_FACTS) occurs verbatim, whitespace aside,
    in its seed document, so searching the index for a sentence of the seed finds it."""
    if not SEEDS.is_dir():
        pytest.skip(f"the seed documents are not at {SEEDS}")
    wrong = []
    for seed, quote in collected["quotes"]:
        document = _normalised((SEEDS / seed).read_text())
        wrong += [
            f"{seed}: {line!r}" for line in quote.splitlines() if _normalised(line) not in document
        ]
    assert wrong == []


def test_the_page_lists_seeds_first_then_documentation_then_issues():
    """Sources are ordered seeds (in number order, each titled), documentation pages, then issues
    and pull requests; a seed's general facts are listed under the seed with the general test."""
    facts = {
        (source, test): index.Fact(test=test, source=source, claim=claim, quote=quote, cases=cases)
        for source, test, claim, quote, cases in [
            (ISSUE_RNN_BOOL_SIZES, "specs/x.py::test_issue", "An issue.", None, 1),
            (DOCS_LSTM, "specs/x.py::test_docs", "A page.", None, 3),
            (SEED_003, "specs/x.py::test_three", "Three.", "sentence three", 2),
            (SEED_000, "specs/x.py::test_zero", "Zero.", "sentence zero", 1),
        ]
    }
    general = {SEED_000: {"a general sentence": "specs/x.py::test_docs"}}
    page = index.render(index.Collected(facts=facts, general=general))
    order = [
        page.index(marker)
        for marker in (
            "sentence zero",
            "a general sentence",
            "sentence three",
            "| A page. |",
            "| An issue. |",
        )
    ]
    assert order == sorted(order)
    assert index.SEED_TITLES[SEED_000] in page
    assert (
        "| a general sentence | Checked by the general fact: A page. | `specs/x.py::test_docs` |"
        in page
    )
    assert "| A page. | `specs/x.py::test_docs` | 3 |" in page
