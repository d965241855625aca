"""Label Studio: pre-annotated tasks out, corrected exports in, and which stories to label next."""
