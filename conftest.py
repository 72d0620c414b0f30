"""The checkout's test command (`uv run pytest`): the facts (rnnspec/specs) and rnnspec's own
tests (tests/) run with rnnspec's plugins, as `rnnspec check` runs the facts from a wheel."""

pytest_plugins = ("rnnspec.plugin", "rnnspec.suite")
