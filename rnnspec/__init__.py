"""rnnspec's own machinery: fact sources, the report plugin, and the command line."""
