"""Torch's thread count for the whole server: one intra-op thread per run. Visitors share the one
process, and two threads on two busy cores ran many times slower than one (docs/DASHBOARD.md,
"Choices worth knowing"). Each training runs one thread (`TORCH_THREADS`), so the training slots,
one per core, use the machine and no more."""

from __future__ import annotations

import os
import sys

TORCH_THREADS = 1


def use_torch_threads() -> None:
    """Called by the entry point on every run, before any page runs a model. It imports no torch
    (Home's first view waits for none): `OMP_NUM_THREADS` sets the count torch starts with when a
    page imports it, and a torch already imported is set directly (a thread started afterwards,
    as every Streamlit run is, gets that count)."""
    os.environ["OMP_NUM_THREADS"] = str(TORCH_THREADS)
    if "torch" in sys.modules:
        import torch  # waits for an import under way in another session's run: it was half-initialised

        torch.set_num_threads(TORCH_THREADS)
