"""Readers and writers for label interchange formats: labelme JSON, MVTec AD folders, COCO and YOLO.

Imports add images and labels to a :class:`~labeling.project.Project` and exports read
from one. Each returns a :class:`~labeling.model.TransferReport`: problems with a single
file become warnings or skipped entries that name the file and the fix, never an
exception that stops the whole transfer.
"""
