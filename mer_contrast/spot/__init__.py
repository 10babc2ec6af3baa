"""Spot-then-recognize on unannotated footage: ``predict-video`` (cli.py), ``bench spot`` (bench.py)."""
