"""Steps a run adds around the fit: a base adapted to news, distillation, semi-supervised stories, final fit on train + dev, label-bias and temperature calibration."""
