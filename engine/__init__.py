"""Compile trained models into bundles (``engine.compile``) and run them on the line (``engine.runtime``)."""
