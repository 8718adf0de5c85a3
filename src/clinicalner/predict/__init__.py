"""Tagging documents: the trained-model engine, post-processing, other taggers and ensembles."""
