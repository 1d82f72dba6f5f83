"""A labeling project: a plain folder with ``project.json``, one JSON label file per image, and a rebuildable index.

Layout (see ``docs/labels-format.md``)::

    project.json            name, class list, settings, schema version
    images/                 images copied into the project (optional)
    labels/<image id>.json  one label file per image; the image id may contain '/'
    .defectseek/            index cache, safe to delete, ignored by version control

A :class:`Project` is not thread-safe: use one instance from one thread. Two instances
(two windows or two processes) may edit one project, and a save over a file the other
one changed raises :class:`~labeling.errors.ConflictError` instead of merging.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from labeling.errors import ConflictError, LabelFileError, ProjectError
from labeling.fileio import atomic_write_bytes, atomic_write_text, sync_file_system
from labeling.imageio import ImageReadError, find_images, read_image_info
from labeling.index import FileStamp, LabelIndex
from labeling.labelfile import content_revision, decode_label, encode_label, read_label_file
from labeling.locking import file_lock
from labeling.model import (
    DefectClass,
    ImageEntry,
    ImageFilter,
    ImageLabel,
    ProjectCounts,
    ProjectInfo,
    SkippedFile,
    Split,
    TransferReport,
    Verdict,
)
from labeling.projectfile import normalize_classes, read_project_file, write_project_file

logger = logging.getLogger(__name__)

PROJECT_FILE = "project.json"
LABELS_DIR = "labels"
IMAGES_DIR = "images"
CACHE_DIR = ".defectseek"
INDEX_FILE = "index.sqlite3"
LABEL_SUFFIX = ".json"
_FORBIDDEN_ID_CHARACTERS = '<>:"\\|?*'


class Project:
    """An open labeling project. Create one with :meth:`create` or :meth:`open`."""

    def __init__(self, root: Path, info: ProjectInfo, info_revision: str) -> None:
        """Wrap an existing project folder; use :meth:`create` or :meth:`open` instead."""
        self.root = Path(os.path.abspath(root))
        self._info = info
        self._info_revision = info_revision
        self._index = LabelIndex(root / CACHE_DIR / INDEX_FILE)
        self.invalid_label_files: dict[str, str] = {}

    # ----- opening and closing -----

    @classmethod
    def create(
        cls,
        root: str | os.PathLike[str],
        name: str,
        classes: Sequence[DefectClass | str] = (),
        settings: dict[str, Any] | None = None,
    ) -> Project:
        """Create a new project in ``root`` (created when missing) and open it.

        Raises:
            ProjectError: ``root`` already contains a project.
        """
        folder = Path(root)
        if (folder / PROJECT_FILE).exists():
            raise ProjectError(f"{folder / PROJECT_FILE} already exists; open that project instead of creating one")
        info = ProjectInfo(name=name, classes=normalize_classes(classes), settings=dict(settings or {}))
        (folder / LABELS_DIR).mkdir(parents=True, exist_ok=True)
        (folder / IMAGES_DIR).mkdir(exist_ok=True)
        atomic_write_text(folder / ".gitignore", f"{CACHE_DIR}/\n")
        revision = write_project_file(folder / PROJECT_FILE, info)
        project = cls(folder, info, revision)
        project.refresh()
        return project

    @classmethod
    def open(cls, root: str | os.PathLike[str]) -> Project:
        """Open the project in ``root`` and bring its index up to date with the label files.

        Raises:
            ProjectError: ``root`` has no ``project.json``.
            LabelFileError: ``project.json`` is invalid.
        """
        folder = Path(root)
        if not (folder / PROJECT_FILE).is_file():
            raise ProjectError(f"{folder} is not a DefectSeek project: {PROJECT_FILE} not found; create a project first")
        info, revision = read_project_file(folder / PROJECT_FILE)
        (folder / LABELS_DIR).mkdir(exist_ok=True)
        project = cls(folder, info, revision)
        project.refresh()
        return project

    def close(self) -> None:
        """Close the index database."""
        self._index.close()

    def __enter__(self) -> Project:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # ----- project file: classes and settings -----

    @property
    def info(self) -> ProjectInfo:
        """Name, class list and settings as last read or written by this instance."""
        return self._info

    def reload_info(self) -> ProjectInfo:
        """Re-read ``project.json`` (after a :class:`ConflictError` on a class or settings edit)."""
        self._info, self._info_revision = read_project_file(self.root / PROJECT_FILE)
        return self._info

    def set_classes(self, classes: Sequence[DefectClass | str]) -> None:
        """Replace the class list.

        Raises:
            ProjectError: a class that labels still use would be removed, or a name is invalid.
            ConflictError: ``project.json`` changed on disk since it was read.
        """
        new_classes = normalize_classes(classes)
        remaining = {item.name for item in new_classes}
        for item in self._info.classes:
            if item.name not in remaining:
                self._check_class_unused(item.name)
        self._write_info(replace(self._info, classes=new_classes))

    def add_class(self, name: str, color: str | None = None) -> None:
        """Append a class to the list; adding an existing name does nothing."""
        if name in self._info.class_names:
            return
        self._write_info(replace(self._info, classes=normalize_classes((*self._info.classes, DefectClass(name, color)))))

    def ensure_classes(self, names: Iterable[str]) -> None:
        """Append every name not yet in the class list, in the given order, with one write."""
        missing = [name for name in dict.fromkeys(names) if name and name not in self._info.class_names]
        if missing:
            classes = (*self._info.classes, *(DefectClass(name) for name in missing))
            self._write_info(replace(self._info, classes=normalize_classes(classes)))

    def rename_class(self, old: str, new: str) -> int:
        """Rename a class in the list and in every label that uses it; return how many labels changed.

        Raises:
            ProjectError: ``old`` is not a class or ``new`` already is.
            ConflictError: a label or ``project.json`` changed on disk meanwhile; the
                labels renamed before it keep the new name, which stays in the list.
        """
        if old not in self._info.class_names:
            raise ProjectError(f"class {old!r} is not in the class list of {self.root}; pick one of {self._info.class_names}")
        if new in self._info.class_names:
            raise ProjectError(f"class {new!r} already exists; choose another name or remove it first")
        renamed = tuple(replace(item, name=new) if item.name == old else item for item in self._info.classes)
        self._write_info(replace(self._info, classes=normalize_classes((*self._info.classes, DefectClass(new)))))
        changed = 0
        for image_id in self._index.ids_using_type(old):
            label = self.get_label(image_id)
            regions = tuple(
                replace(region, defect_type=new) if region.defect_type == old else region for region in label.regions
            )
            defect_type = new if label.defect_type == old else label.defect_type
            self.save_label(image_id, replace(label, defect_type=defect_type, regions=regions))
            changed += 1
        self._write_info(replace(self._info, classes=normalize_classes(renamed)))
        return changed

    def remove_class(self, name: str) -> None:
        """Remove an unused class from the list.

        Raises:
            ProjectError: labels still use the class.
        """
        self.set_classes([item for item in self._info.classes if item.name != name])

    def update_settings(self, settings: dict[str, Any]) -> None:
        """Replace the free-form settings (JSON values) in ``project.json``."""
        self._write_info(replace(self._info, settings=dict(settings)))

    # ----- index: listing, filtering, counting -----

    def refresh(self) -> tuple[str, ...]:
        """Re-read label files that changed on disk since they were indexed; return warnings for invalid ones.

        Invalid label files are left out of the index and listed in ``invalid_label_files``.
        """
        on_disk = self._scan_label_files()
        known = self._index.stamps()
        self._index.delete([image_id for image_id in known if image_id not in on_disk])
        changed = [image_id for image_id, stamp in on_disk.items() if known.get(image_id) != stamp]
        rows: list[tuple[ImageEntry, FileStamp]] = []
        warnings: list[str] = []
        for image_id in changed:
            self.invalid_label_files.pop(image_id, None)
            try:
                label, image_ref = read_label_file(self.label_path(image_id))
            except LabelFileError as error:
                self.invalid_label_files[image_id] = str(error)
                warnings.append(str(error))
                logger.warning("Skipping invalid label file: %s", error)
                continue
            rows.append((self._entry_for(image_id, label, image_ref), on_disk[image_id]))
        self._index.delete(self.invalid_label_files)
        self._index.upsert(rows)
        if changed:
            logger.info("Indexed %d changed label files of %s", len(changed), self.root)
        return tuple(warnings)

    def list_images(
        self,
        selection: ImageFilter | None = None,
        *,
        verdict: Verdict | None = None,
        defect_type: str | None = None,
        split: Split | None = None,
    ) -> list[str]:
        """Return sorted image ids matching ``selection`` and the keyword shortcuts (all must match)."""
        return self._index.query_ids(_combine(selection, verdict, defect_type, split))

    def entries(self, selection: ImageFilter | None = None) -> list[ImageEntry]:
        """Return index rows matching ``selection``, sorted by image id."""
        return self._index.query(selection)

    def entry(self, image_id: str) -> ImageEntry:
        """Return the index row of one image.

        Raises:
            ProjectError: the id is not in the project.
        """
        entry = self._index.entry(image_id)
        if entry is None:
            raise ProjectError(f"image id {image_id!r} is not in the project {self.root}; refresh the image list")
        return entry

    def has_image(self, image_id: str) -> bool:
        """Return True when the image id is in the index."""
        return self._index.entry(image_id) is not None

    def counts(self) -> ProjectCounts:
        """Count images by verdict, image-level defect type and split."""
        return self._index.counts()

    # ----- labels -----

    def label_path(self, image_id: str) -> Path:
        """Return the path of an image's label file (it may not exist yet)."""
        return self.root / LABELS_DIR / (image_id + LABEL_SUFFIX)

    def image_path(self, image_id: str) -> Path:
        """Return the absolute path of an image file."""
        stored = Path(self.entry(image_id).image_path)
        return stored if stored.is_absolute() else Path(os.path.normpath(self.root / stored))

    def get_label(self, image_id: str) -> ImageLabel:
        """Load an image's label from its file, with ``revision`` set for a later save.

        Raises:
            ProjectError: the id is not in the project.
            LabelFileError: the label file is invalid.
        """
        path = self.label_path(image_id)
        if not path.is_file():
            raise ProjectError(f"image id {image_id!r} has no label file {path}; refresh the image list")
        label, _ = read_label_file(path)
        return label

    def save_label(self, image_id: str, label: ImageLabel, *, base_revision: str | None = None) -> ImageLabel:
        """Save an image's label atomically and return it with its new revision.

        Args:
            image_id: the image.
            label: the new label, usually made with ``dataclasses.replace`` from :meth:`get_label`.
            base_revision: revision the edit started from; defaults to ``label.revision``.

        Raises:
            ConflictError: the label file changed on disk since ``base_revision`` was read.
            ProjectError: unknown image id, a defect type not in the class list, or an
                image size that differs from the indexed one.
        """
        entry = self.entry(image_id)
        self._validate_label(image_id, entry, label)
        path = self.label_path(image_id)
        base = label.revision if base_revision is None else base_revision
        with file_lock(path):
            image_ref = self._check_revision(path, base)
            data = encode_label(label, image_ref)
            atomic_write_bytes(path, data)
            stamp = _stamp_of(path)
        saved = replace(label, revision=content_revision(data))
        self._index.upsert([(self._entry_for(image_id, saved, image_ref), stamp)])
        return saved

    # ----- adding and removing images -----

    def add_images(
        self, paths: Iterable[str | os.PathLike[str]], *, copy: bool = False, split: Split = Split.NONE
    ) -> TransferReport:
        """Add image files and folders (searched recursively) as unlabelled images.

        Image ids follow the files: a file's id is its name without suffix, and a file
        found in a folder gets ``<folder name>/<path inside the folder without suffix>``.
        A taken id gets a ``_2``, ``_3``... suffix.

        Args:
            paths: files and folders.
            copy: copy each image into ``images/`` (True) or reference it where it is (False).
            split: split recorded for the new images.

        Returns:
            The new image ids, and the files that were skipped (unreadable, already in
            the project) with the reason.
        """
        added: list[str] = []
        skipped: list[SkippedFile] = []
        for raw in paths:
            base = Path(raw)
            files, errors = find_images([base])
            skipped.extend(SkippedFile(error.path, error.reason) for error in errors)
            for file in files:
                requested_id = id_for_file(base, file)
                try:
                    added.append(self.add_image(file, copy=copy, image_id=requested_id, split=split, durable=False))
                except (ImageReadError, ProjectError, OSError) as error:
                    reason = error.reason if isinstance(error, ImageReadError) else str(error)
                    skipped.append(SkippedFile(str(file), reason))
                    logger.warning("Skipped %s: %s", file, reason)
        self.flush_to_disk()
        return TransferReport(items=tuple(added), skipped=tuple(skipped))

    def add_image(
        self,
        path: str | os.PathLike[str],
        *,
        copy: bool = False,
        image_id: str | None = None,
        label: ImageLabel | None = None,
        split: Split = Split.NONE,
        durable: bool = True,
    ) -> str:
        """Add one image with an optional initial label and return its id.

        Args:
            path: the image file.
            copy: copy it into ``images/`` (True) or reference it where it is (False).
            image_id: requested id (made unique with a numeric suffix); defaults to the file name without suffix.
            label: initial label, whose image size must match the upright image; defaults to unlabelled.
            split: split of the default label (ignored when ``label`` is given).
            durable: flush the new files to disk before returning. Bulk callers pass False
                and flush once at the end, which is far faster for thousands of images.

        Raises:
            ImageReadError: the file is not a readable image.
            ProjectError: the file is already referenced, the label size does not match,
                or the label uses a class that is not in the class list.
        """
        source = Path(os.path.abspath(path))
        info = read_image_info(source)
        if not copy:
            existing = self._index.id_for_path(_stored_path(self.root, source))
            if existing is not None:
                raise ProjectError(f"{source} is already in the project as image {existing!r}; nothing to add")
        new_id = self._unique_id(_sanitize_id(image_id or source.stem))
        if label is None:
            label = ImageLabel(image_width=info.width, image_height=info.height, split=split)
        label_file = self.label_path(new_id)
        entry_stub = ImageEntry(new_id, "", info.width, info.height)
        self._validate_label(new_id, entry_stub, label)
        if copy:
            target = self.root / IMAGES_DIR / (new_id + source.suffix.lower())
            atomic_write_bytes(target, source.read_bytes(), fsync=durable)
            source = target
        image_ref = _relative_ref(source, label_file.parent)
        with file_lock(label_file):
            if label_file.exists():
                raise ConflictError(label_file, "another window added an image with this id at the same time")
            data = encode_label(label, image_ref)
            atomic_write_bytes(label_file, data, fsync=durable)
            stamp = _stamp_of(label_file)
        saved = replace(label, revision=content_revision(data))
        self._index.upsert([(self._entry_for(new_id, saved, image_ref), stamp)])
        return new_id

    def flush_to_disk(self) -> None:
        """Flush files written with ``durable=False`` to disk (see :func:`labeling.fileio.sync_file_system`)."""
        sync_file_system()

    def remove_image(self, image_id: str, *, delete_copied_image: bool = True) -> None:
        """Remove an image's label file, and its copy inside ``images/`` when ``delete_copied_image`` is True.

        Images outside ``images/`` (referenced ones) are not deleted.
        """
        image = self.image_path(image_id)
        self.label_path(image_id).unlink(missing_ok=True)
        inside_images = (self.root / IMAGES_DIR) in image.parents
        if delete_copied_image and inside_images:
            image.unlink(missing_ok=True)
        self._index.delete([image_id])

    # ----- internals -----

    def _write_info(self, info: ProjectInfo) -> None:
        path = self.root / PROJECT_FILE
        with file_lock(path):
            current = content_revision(path.read_bytes()) if path.exists() else ""
            if current != self._info_revision:
                raise ConflictError(path, "the class list or settings were edited elsewhere")
            self._info_revision = write_project_file(path, info)
        self._info = info

    def _check_class_unused(self, name: str) -> None:
        users = self._index.ids_using_type(name)
        if users:
            examples = ", ".join(users[:3])
            raise ProjectError(
                f"class {name!r} is still used by {len(users)} images (for example {examples}); "
                "relabel those images or rename the class instead"
            )

    def _check_revision(self, path: Path, base: str) -> str:
        """Raise ConflictError unless the file on disk has revision ``base``; return its image path."""
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise ConflictError(path, "the label file was deleted") from None
        current = content_revision(data)
        if current != base:
            raise ConflictError(path, f"it has revision {current}, the edit started from {base or 'no revision'}")
        _, image_ref = decode_label(data, path)
        return image_ref

    def _validate_label(self, image_id: str, entry: ImageEntry, label: ImageLabel) -> None:
        if (label.image_width, label.image_height) != (entry.width, entry.height):
            raise ProjectError(
                f"label for {image_id!r} is for a {label.image_width}x{label.image_height} image but the image is "
                f"{entry.width}x{entry.height}; rescale the regions to the upright image size"
            )
        used = {label.defect_type} | {region.defect_type for region in label.regions}
        unknown = sorted(name for name in used if name is not None and name not in self._info.class_names)
        if unknown:
            raise ProjectError(
                f"label for {image_id!r} uses defect types {unknown} that are not in the class list "
                f"{list(self._info.class_names)}; add them to the class list first"
            )

    def _entry_for(self, image_id: str, label: ImageLabel, image_ref: str) -> ImageEntry:
        image_file = _resolve_ref(image_ref, self.label_path(image_id).parent)
        region_types = sorted({region.defect_type for region in label.regions if region.defect_type})
        return ImageEntry(
            image_id=image_id,
            image_path=_stored_path(self.root, image_file),
            width=label.image_width,
            height=label.image_height,
            verdict=label.verdict,
            defect_type=label.defect_type,
            split=label.split,
            region_count=len(label.regions),
            region_types=tuple(region_types),
        )

    def _scan_label_files(self) -> dict[str, FileStamp]:
        labels_root = self.root / LABELS_DIR
        found: dict[str, FileStamp] = {}
        for folder, subfolders, files in os.walk(labels_root):
            subfolders[:] = [name for name in subfolders if not name.startswith(".")]
            relative_folder = Path(folder).relative_to(labels_root).as_posix()
            prefix = "" if relative_folder == "." else relative_folder + "/"
            for name in files:
                if name.startswith(".") or not name.endswith(LABEL_SUFFIX):
                    continue
                status = os.stat(os.path.join(folder, name))
                found[prefix + name[: -len(LABEL_SUFFIX)]] = FileStamp(status.st_mtime_ns, status.st_size)
        return found

    def _unique_id(self, requested: str) -> str:
        candidate = requested
        number = 2
        while self._index.entry(candidate) is not None or self.label_path(candidate).exists():
            candidate = f"{requested}_{number}"
            number += 1
        return candidate


def _combine(
    selection: ImageFilter | None, verdict: Verdict | None, defect_type: str | None, split: Split | None
) -> ImageFilter:
    result = selection or ImageFilter()
    if verdict is not None:
        result = replace(result, verdicts=frozenset({verdict}) & (result.verdicts or frozenset({verdict})))
    if defect_type is not None:
        result = replace(result, defect_types=frozenset({defect_type}) & (result.defect_types or frozenset({defect_type})))
    if split is not None:
        result = replace(result, splits=frozenset({split}) & (result.splits or frozenset({split})))
    return result


def _stamp_of(path: Path) -> FileStamp:
    status = path.stat()
    return FileStamp(status.st_mtime_ns, status.st_size)


def id_for_file(base: Path, file: Path) -> str:
    """Return the default image id of ``file`` found under ``base``.

    A file found in a folder gets ``<folder name>/<path inside the folder without suffix>``,
    and a file given directly gets its name without suffix.
    """
    if base.is_dir():
        inside = file.relative_to(base).with_suffix("").as_posix()
        return f"{Path(os.path.abspath(base)).name}/{inside}"
    return file.stem


def _sanitize_id(image_id: str) -> str:
    parts = []
    for part in image_id.replace("\\", "/").split("/"):
        cleaned = "".join("_" if char in _FORBIDDEN_ID_CHARACTERS or ord(char) < 32 else char for char in part)
        cleaned = cleaned.strip().rstrip(".")
        if cleaned and cleaned not in (".", ".."):
            parts.append(cleaned.lstrip("."))
    return "/".join(part for part in parts if part) or "image"


def _relative_ref(target: Path, start: Path) -> str:
    try:
        return Path(os.path.relpath(os.path.abspath(target), os.path.abspath(start))).as_posix()
    except ValueError:
        return target.as_posix()


def _resolve_ref(image_ref: str, label_folder: Path) -> Path:
    reference = Path(image_ref.replace("\\", "/"))
    if reference.is_absolute():
        return reference
    return Path(os.path.normpath(label_folder.absolute() / reference))


def _stored_path(root: Path, image_file: Path) -> str:
    try:
        relative = os.path.relpath(os.path.normpath(image_file.absolute()), os.path.normpath(root.absolute()))
    except ValueError:
        return image_file.as_posix()
    return Path(relative).as_posix()
