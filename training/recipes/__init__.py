"""Steps a run adds around the fit: distillation, semi-supervised stories, final fit on train + dev, label-bias and temperature calibration."""
