"""The torch-free line runtime: verify a bundle, pick an engine, judge images."""

from engine.runtime.engines import DEVICES, ENGINES, EngineUnavailableError
from engine.runtime.inspector import ERROR, NG, OK, Inspector, Verdict, normalize_score

__all__ = ["DEVICES", "ENGINES", "ERROR", "NG", "OK", "EngineUnavailableError", "Inspector", "Verdict", "normalize_score"]
