"""Scoring: metrics (PSNR, SSIM, MSE), the classical baselines and the comparison of a model against
them on photos it never saw. No imports here."""
