"""What the dashboard's pages share (the pages themselves are files in app_pages/).

- `widgets`: image and noise choice, a row of images, widget memory across pages;
- `scenario_page`: the generic scenario page, with its steps in `training_settings`,
  `training_progress` (with the server's `training_slots`), `outcome` and `results`, and
  `baseline_comparison`;
- `bundled_models`: the bundled models, shared by every session; `torch_threads`: one torch thread per run;
- `photo_results`: Your photo's results and the lines that explain them; `home_picture`: Home's picture;
- `figures`: Plotly figures as pure functions of arrays.
"""
