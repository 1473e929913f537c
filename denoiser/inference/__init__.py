"""Running a trained network on a photo: tiled denoising with a self-ensemble, and self-supervised
adaptation to one noisy photo. No imports here (torch loads with the modules)."""
