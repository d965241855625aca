"""Reading training data: our JSONL/CSV/TSV and sentence tables, the NewsDiscourse, PolNeAR and Webis converters, unlabeled stories, corpus statistics."""
