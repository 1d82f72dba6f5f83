"""DefectSeek Studio: the Qt (PySide6) desktop front end."""
