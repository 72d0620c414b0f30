"""pytest-benchmark timings of the tutorial models and the training loop; run by `rnnspec bench`."""
