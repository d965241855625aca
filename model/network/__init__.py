"""The PyTorch model: the classifier and its encoder, its base models, its devices, and the torch runners (fp32, int8, bf16)."""
