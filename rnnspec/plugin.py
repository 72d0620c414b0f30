"""The rnnspec pytest plugin: the fact mark, the suite's options, the citation check, the report.

This module is the plugin's name (`-p rnnspec.plugin`, conftest.py's `pytest_plugins`); its
parts live in rnnspec.tool.plugin, one module per concern, each a plugin of its own that
this one loads: the options, the citation check, what a fact records (`observe`,
`known_bug`), the warnings it raises, the forked child's threads, the run guard, and the
collector that writes the report and sets the exit status.

A spec is a test under `specs/` marked `@pytest.mark.fact(source, *, quote=None,
erratum=None, since=None, bug=None)`; its docstring's first paragraph is its claim.
Collection fails for a spec without a source or a claim, so no fact goes uncited.

What a fact records, beside its outcome:

- `observe(name, value, *, tolerance=None)` (a fixture): a small JSON value the fact
  observed; a float needs the tolerance within which another release counts as the same.
- the warnings raised while it ran (category, message, the module that raised them);
- `release_side`, for a `since="2.11"` fact: "from 2.11" or "before 2.11" (a fact that
  changed twice names both releases, oldest first: `since=("2.4", "2.6")`);
- `known_bug` (a fixture): for a fact naming `bug=`, `with known_bug.expected(match=...)`
  holds the promised behaviour; where the installed release has the bug the block must
  fail (the fact is then a known bug), and where it no longer does the fact fails with
  "fixed in <package> <release>".

A fact that raises `rnnspec.environment.EnvironmentProblem` (no network for a download,
a missing data folder) is an error of the environment with the problem's one-line fix,
not a failure. A fact that kills its process crashed, one that outlives its time limit
timed out, and the facts an interrupted run never reached are not run
(rnnspec.tool.plugin.guard keeps the run going and says how); rnnspec.schema names
these outcomes. A fact marked `@pytest.mark.forked`
runs in a child process of its own (pytest-forked); its crash names the signal too.

The rows are gathered from the test reports on the xdist controller (or the only
process), so the report sees exactly what pytest saw, and a fact has one id whatever
the run: xdist's `@group` suffix is removed. Exit status: pytest's own, except 5 when
facts were collected but none executed, and 6 (`EXIT_ENVIRONMENT`) when nothing
failed but some facts could not run because of the environment, and 7
(`EXIT_INTERRUPTED`) when nothing failed but the run was interrupted (rnnspec.schema).
"""

from __future__ import annotations

# The guard first: the other parts import it, and pytest rewrites the asserts of a plugin's
# module only when it imports the module itself.
pytest_plugins = (
    "rnnspec.tool.plugin.guard",
    "rnnspec.tool.plugin.options",
    "rnnspec.tool.plugin.citation",
    "rnnspec.tool.plugin.recording",
    "rnnspec.tool.plugin.captured_warnings",
    "rnnspec.tool.plugin.forked",
    "rnnspec.tool.plugin.collector",
)
