"""The recurrent networks, their configuration, checkpoints and the bundled weights.

No imports here: `models.config` needs no torch, the rest loads it.
"""
