"""Entry point: `streamlit run streamlit_app.py`. Page config, torch's thread count and navigation;
each page is a file in app_pages/ (not pages/: Streamlit would also run a pages/ folder as a legacy multipage app,
and deep links such as /gray-gaussian then broke)."""

from pathlib import Path

import streamlit as st

from dashboard.torch_threads import use_torch_threads
from dashboard.widgets import remember_widgets
from denoiser.scenarios import SCENARIOS

PAGE_ICON = Path(__file__).resolve().parent / "dashboard" / "page_icon.png"
"""A file, so no page asks a font server for its icon (a ":material/...:" page icon does)."""

st.set_page_config(page_title="LSTM denoising lab", page_icon=str(PAGE_ICON), layout="wide")

use_torch_threads()
remember_widgets()
navigation = st.navigation({
    "Lab": [st.Page("app_pages/home.py", title="Home", icon=":material/home:", default=True)],
    "Scenarios": [st.Page(f"app_pages/{key.replace('-', '_')}.py", title=scenario.title, url_path=key,
                          icon=":material/tune:") for key, scenario in SCENARIOS.items()],
    "Tools": [st.Page("app_pages/your_photo.py", title="Your photo", url_path="your-photo", icon=":material/photo_camera:"),
              st.Page("app_pages/benchmark.py", title="Benchmark", url_path="benchmark", icon=":material/leaderboard:")],
})
navigation.run()
