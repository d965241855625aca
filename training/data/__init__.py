"""Readers for the corpora beside NewsDiscourse (PolNeAR, Webis editorials, unlabeled stories): Articles with auxiliary targets."""
