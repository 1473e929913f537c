"""The Streamlit dashboard: pure Plotly figures (`figures`) and the shared widgets and page renderers (`ui`)."""
