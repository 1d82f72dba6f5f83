"""The ``inspect`` command line: train, run, eval, compile and demo."""
