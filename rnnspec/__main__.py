import sys

from rnnspec.tool.cli import main

sys.exit(main())
