"""Benchmark: the bundled LSTM against classical denoisers on held-out photos."""

from dashboard.tools import render_benchmark_page

render_benchmark_page()
