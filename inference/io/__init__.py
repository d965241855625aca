"""What goes in and out: input files and pages, the HTML extractor, Parquet, the output writers, progress."""
