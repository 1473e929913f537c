"""Training: patches and pixel splits, the loops, corpus jobs, recipes and their runner, presets, the
notebook's experiment and multi-process (torchrun) training. No imports here: `recipes` and
`presets` need no torch, so the command line reads them before the heavy imports."""
