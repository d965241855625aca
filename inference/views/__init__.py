"""Views of labeled stories for people: self-contained HTML pages (see pages.py)."""
