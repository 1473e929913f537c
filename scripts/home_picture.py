"""Write the Home page's stored picture (dashboard/home_picture.png): clean, noisy and denoised by
the bundled gray model, side by side. Rerun after the bundled weights change; tests/test_app.py
fails until then.

    python scripts/home_picture.py
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dashboard.home_picture import PICTURE, make_picture  # noqa: E402
from denoiser.images import save_image  # noqa: E402

if __name__ == "__main__":
    save_image(make_picture(), PICTURE)
    print(f"wrote {PICTURE}")
