"""Text before a model sees it: sentence splitting, text decoding and the boilerplate rules."""
