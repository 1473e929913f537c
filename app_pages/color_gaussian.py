"""Scenario page: color-gaussian (the scenario's data lives in denoiser.scenarios)."""

from dashboard.ui import render_scenario_page

render_scenario_page("color-gaussian")
