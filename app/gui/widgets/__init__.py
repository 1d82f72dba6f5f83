"""Widgets of the studio pages: image browser, side panels, thumbnails and display controls."""
