"""The keys of a test item's user properties that the plugin's modules share.

They travel from xdist workers (and forked children) to the controller inside each test
report, where the collector (rnnspec.tool.plugin.collector) turns them into the report's facts.
"""

from __future__ import annotations

FACT_KEY = "rnnspec.fact"
OBSERVATION_KEY = "rnnspec.observation"
WARNINGS_KEY = "rnnspec.warnings"
ENVIRONMENT_KEY = "rnnspec.environment_problem"
KNOWN_BUG_KEY = "rnnspec.known_bug"
CURVE_KEY = "training_curve"  # a training log, recorded by the MNIST facts with record_property
