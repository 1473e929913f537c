"""Your photo: denoise a real photo with the bundled weights."""

from dashboard.tools import render_photo_page

render_photo_page()
