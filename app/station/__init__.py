"""The line station: camera sources, inspection pipeline, PLC signals, results store and deploy service.

The station runs headless on the PC beside the conveyor (``defectseek-station --config FILE``).
Only the deploy service's client functions are meant to be imported by the studio.
"""
