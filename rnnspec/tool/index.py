"""`rnnspec index [--check]`: docs/facts.md, every fact of the suite grouped by its source.

The page lists each fact (one line per test function or parametrized family,
with its number of cases) with its claim, the seed's own sentence it checks
(`quote=`), its source and its test id: the seed documents first, in order,
then each documentation page, then the issues and pull requests. A seed
sentence that a general fact checks (a seed module's `GENERAL_FACTS`) is
listed under its seed too, with the general test's id, so that from any
sentence of a seed document its test is one search of the page away.

The suite is collected in-process (`pytest --collect-only`: nothing runs) and
the page depends on nothing but the source: no device, release or machine.
`--check` exits 1 when the committed page differs from what the suite says.
torch is imported only when the command runs (by collecting the specs).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rnnspec.schema import family_of, issue_number
from rnnspec.sources import REGISTRY, SEED, github_kind
from rnnspec.tool.markdown import table

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "facts.md"
REGENERATE = "uv run rnnspec index"

# One line per seed document: what it teaches (recorded in rnnspec.sources).
SEED_TITLES = {s.url: s.title for s in REGISTRY.values() if s.kind == SEED}


@dataclass
class Fact:
    """One test function (or parametrized family) under one source."""

    test: str  # "specs/....py::test_name", without parameters
    source: str
    claim: str
    quote: str | None = None
    erratum: str | None = None
    since: str | None = None
    bug: str | None = None
    cases: int = 0


@dataclass
class Collected:
    facts: dict[tuple[str, str], Fact] = field(default_factory=dict)  # (source, test) -> fact
    general: dict[str, dict[str, str]] = field(default_factory=dict)  # seed -> {quote: test}
    errors: list[str] = field(default_factory=list)


class _Collector:
    """A pytest plugin that turns collected spec items into Facts."""

    def __init__(self) -> None:
        self.result = Collected()

    def pytest_collectreport(self, report: Any) -> None:
        if report.failed:
            self.result.errors.append(f"{report.nodeid}: {report.longreprtext.splitlines()[-1:]}")

    def pytest_collection_finish(self, session: Any) -> None:
        from rnnspec.tool.plugin.citation import fact_metadata

        for item in session.items:
            meta = fact_metadata(item)
            if meta is None:
                continue
            test = family_of(str(meta["id"]))
            source = str(meta["source"])
            fact = self.result.facts.setdefault(
                (source, test),
                Fact(
                    test=test,
                    source=source,
                    claim=meta["claim"],
                    quote=meta.get("quote"),
                    erratum=meta.get("erratum"),
                    since=meta.get("since"),
                    bug=(meta.get("bug") or {}).get("issue"),
                ),
            )
            fact.cases += 1
            module = getattr(item, "module", None)
            general = getattr(module, "GENERAL_FACTS", None)
            seed = getattr(module, "SEED", None) or _seed_of_module(item)
            if general and seed:
                self.result.general.setdefault(seed, {}).update(general)


def _seed_of_module(item: Any) -> str | None:
    """The seed file a specs/seeds/test_NNN_... module belongs to, by its number."""
    name = Path(str(item.path)).name
    if "seeds" not in Path(str(item.path)).parts or not name.startswith("test_"):
        return None
    number = name.split("_")[1]
    return next((seed for seed in SEED_TITLES if seed.startswith(number)), None)


def collect(root: Path = ROOT) -> Collected:
    """Collect the specs (nothing runs) and gather their facts."""
    import pytest

    collector = _Collector()
    args = [
        "-c",
        str(root / "pytest.ini"),
        "--rootdir",
        str(root),
        "--collect-only",
        "-qq",
        "-p",
        "no:cacheprovider",
        str(root / "rnnspec" / "specs"),
    ]
    # The page lists every fact whatever the caller's PYTEST_ADDOPTS (-k, -m, a path) selects.
    addopts = os.environ.pop("PYTEST_ADDOPTS", None)
    try:
        with contextlib.redirect_stdout(io.StringIO()) as out:
            code = pytest.main(args, plugins=[collector])
    finally:
        if addopts is not None:
            os.environ["PYTEST_ADDOPTS"] = addopts
    if code not in (0, 5) or collector.result.errors:
        raise RuntimeError(
            f"collecting the specs failed (pytest exit {int(code)}): "
            + "; ".join(collector.result.errors)
            + out.getvalue()[-2000:]
        )
    return collector.result


def _source_order(source: str) -> tuple[int, str]:
    if source in SEED_TITLES:
        return (0, source)
    if "github.com" in source:
        return (2, source)
    return (1, source)


def _heading(source: str) -> str:
    if source in SEED_TITLES:
        return f"Seed {source}: {SEED_TITLES[source]}"
    kind = github_kind(source)
    if kind is not None:
        repository, number = issue_number(source).split("#")
        recorded = REGISTRY.get(source)
        title = f": {recorded.title}" if recorded else ""
        return f"{repository} {kind} #{number}{title} <{source}>"
    page = source.rstrip("/").split("/")[-1].removesuffix(".html")
    return f"{page} <{source}>"


def _claim(fact: Fact) -> str:
    text = fact.claim
    if fact.since:
        text += f" (release boundary: torch {fact.since})"
    if fact.bug:
        text += f" (known bug: {fact.bug})"
    if fact.erratum:
        text += f" Erratum of the seed: {fact.erratum}"
    return text


def render(collected: Collected) -> str:
    """docs/facts.md for the collected facts."""
    facts = sorted(collected.facts.values(), key=lambda f: (_source_order(f.source), f.test))
    claims = {f.test: f.claim for f in facts}
    sources = sorted({f.source for f in facts} | set(collected.general), key=_source_order)
    total_cases = sum(f.cases for f in facts)
    lines = [
        "# The facts of rnnspec, by source",
        "",
        f"Generated by `{REGENERATE}` from the specs (do not edit; `rnnspec index --check` "
        "fails when this page is stale). "
        f"{len(facts)} facts ({total_cases} test cases) from {len(sources)} sources. "
        "Search this page for a sentence of a seed document to find the test that checks it; "
        "run one with `uv run pytest '<test>'`.",
        "",
    ]
    for source in sources:
        lines += [f"## {_heading(source)}", ""]
        rows = [f for f in facts if f.source == source]
        if source in SEED_TITLES:
            body = [(f.quote or "", _claim(f), f"`{f.test}`", f.cases) for f in rows]
            for quote, test in sorted(collected.general.get(source, {}).items()):
                claim = "Checked by the general fact: " + claims.get(test, "(missing test)")
                body.append((quote, claim, f"`{test}`", ""))
            lines += table(("the seed's sentence", "claim", "test", "cases"), body, align="lllr")
        else:
            body = [(_claim(f), f"`{f.test}`", f.cases) for f in rows]
            lines += table(("claim", "test", "cases"), body, align="llr")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def stale_references(collected: Collected) -> list[str]:
    """GENERAL_FACTS entries naming a test that does not exist."""
    tests = {test for _, test in collected.facts}
    return [
        f"{seed}: {quote!r} -> {test}"
        for seed, general in collected.general.items()
        for quote, test in general.items()
        if test not in tests
    ]


def run(check: bool, page: Path = PAGE) -> int:
    """Write the page, or with `check` compare it; returns the exit status."""
    collected = collect()
    missing = stale_references(collected)
    if missing:
        print("rnnspec: GENERAL_FACTS name tests that do not exist: " + "; ".join(missing))
        return 1
    text = render(collected)
    if check:
        if page.exists() and page.read_text() == text:
            print(f"rnnspec: {page.relative_to(ROOT)} is current")
            return 0
        print(f"rnnspec: {page.relative_to(ROOT)} is stale: regenerate it with `{REGENERATE}`")
        return 1
    page.parent.mkdir(parents=True, exist_ok=True)
    page.write_text(text)
    print(f"rnnspec: wrote {page.relative_to(ROOT)} ({len(collected.facts)} facts)")
    return 0


def cmd_index(args: argparse.Namespace, extra: Sequence[str]) -> int:
    return run(args.check)


def register(sub: Any) -> None:
    """Add `rnnspec index [--check]` to the command line's subparsers."""
    parser = sub.add_parser(
        "index",
        help="write docs/facts.md, every fact by source (--check: exit 1 when it is stale)",
        description="Collects the specs (nothing runs) and lists every fact with its claim, "
        "the seed's sentence it checks, its source and its test id.",
    )
    parser.add_argument(
        "--check", action="store_true", help="do not write; exit 1 when docs/facts.md is stale"
    )
    parser.set_defaults(func=cmd_index)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="rnnspec")
    register(parser.add_subparsers(dest="command", required=True))
    args, extra = parser.parse_known_args(["index", *(sys.argv[1:] if argv is None else argv)])
    return args.func(args, extra)


if __name__ == "__main__":
    sys.exit(main())
