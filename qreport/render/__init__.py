"""Renderers: facts in, documents out.  They format; they never compute."""
