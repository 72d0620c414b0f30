"""The tool: what runs the facts, writes their reports and compares them (rnnspec's commands).

The library the specs import (the table of modules, the reference equations, the testing
helpers, the sources, the ledger, the releases, the golden cases) lies in the package
above; nothing there imports from here (tests/test_imports.py holds it so).
"""
