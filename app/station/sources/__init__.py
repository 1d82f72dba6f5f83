"""Camera drivers and the supervised feed that turns a driver into a stream of fresh frames."""

from app.station.sources.base import CameraDriver, CameraError, DriverFactory
from app.station.sources.feed import CameraFeed, FeedSettings, FeedState

__all__ = ["CameraDriver", "CameraError", "CameraFeed", "DriverFactory", "FeedSettings", "FeedState"]
