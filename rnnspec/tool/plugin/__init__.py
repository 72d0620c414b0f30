"""The parts of the pytest plugin (rnnspec.plugin loads each as a plugin of its own)."""
