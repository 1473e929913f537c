"""Scenario page: color-camera (the scenario is data in denoiser.scenarios; the page is generic)."""

from dashboard.scenario_page import render_scenario_page

render_scenario_page("color-camera")
