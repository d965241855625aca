"""The model card: built from a run's records, its markdown (README.md with hub metadata) and the evaluations recorded on it."""
