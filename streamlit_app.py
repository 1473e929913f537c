"""Entry point: `streamlit run streamlit_app.py`. Page config and navigation only; the pages live in app_pages/."""

import streamlit as st

from dashboard.tools import render_home
from dashboard.ui import page_file, remember_widgets
from denoiser.scenarios import SCENARIOS

st.set_page_config(page_title="LSTM denoising lab", page_icon=":material/blur_on:", layout="wide")

remember_widgets()
navigation = st.navigation({
    "Lab": [st.Page(render_home, title="Home", icon=":material/home:", default=True)],
    "Scenarios": [st.Page(page_file(key), title=scenario.title, url_path=key, icon=":material/tune:")
                  for key, scenario in SCENARIOS.items()],
    "Tools": [st.Page(page_file("your-photo"), title="Your photo", url_path="your-photo", icon=":material/photo_camera:"),
              st.Page(page_file("benchmark"), title="Benchmark", url_path="benchmark", icon=":material/leaderboard:")],
})
navigation.run()
