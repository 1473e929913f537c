"""`python -m denoiser` and the installed `denoiser` command: the command line in its own process."""

import gc
import sys

from denoiser.cli import main


def run() -> None:
    """Run the command line and exit with its status. The heap is frozen first, so the collections
    of the interpreter's exit skip torch's objects, which otherwise cost every command about 0.2 s
    (benchmarks/cold_speed.py times whole commands)."""
    status = main()
    gc.freeze()
    sys.exit(status)


if __name__ == "__main__":
    run()
