"""The one image loader that training, inspection, the runtime, labeling and cameras share.

Rules, applied in this order to every image that enters DefectSeek:

1. Files are read as bytes and decoded in memory, so paths in any script work on
   every OS. Empty, truncated and non-image files raise :class:`ImageReadError`
   with a ``kind`` and a message that names the file; a partial decode is never
   returned.
2. The header is read before decoding; an image with more than ``max_pixels``
   pixels is rejected with its dimensions and the limit, and an image whose
   shorter side is below ``min_side_px`` is rejected as too small.
3. EXIF orientation is applied, so every consumer sees the upright image.
4. Channels: grayscale stays one channel (H x W); colour becomes RGB (H x W x 3).
   Alpha is dropped without compositing, palette images are expanded, and CMYK
   and YCbCr are converted to RGB.
5. Bit depth is kept: 8-bit data is ``uint8``, 16-bit data (including 12-bit
   camera data in 16-bit containers) is ``uint16``. :func:`to_model_rgb` maps
   both to the model's 0..255 float range by one rule (see there).
"""

from __future__ import annotations

import io
import logging
import os
import struct
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from labeling.fileio import atomic_write_bytes

logger = logging.getLogger(__name__)

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp"})
DEFAULT_MAX_PIXELS = 200_000_000
DEFAULT_MIN_SIDE_PX = 16
MAX_PIXELS_VARIABLE = "DEFECTSEEK_MAX_PIXELS"
SUPPORTED_BIT_DEPTHS = (8, 10, 12, 14, 16)

# Leading bytes of the supported formats: a file with one of these that fails to open is damaged, not foreign.
IMAGE_SIGNATURES = (b"\x89PNG", b"\xff\xd8", b"II*\x00", b"MM\x00*", b"BM", b"RIFF", b"GIF8")

# Exceptions Pillow's decoders raise on damaged or cut-off data, besides its own error types.
DECODER_ERRORS = (OSError, SyntaxError, ValueError, EOFError, IndexError, struct.error)

# Pillow's own decompression-bomb guard would fire before ours with a less useful message.
Image.MAX_IMAGE_PIXELS = None


class ImageReadError(Exception):
    """An image could not be loaded.

    Attributes:
        path: the file (or source name) that failed.
        kind: one of ``missing``, ``empty``, ``truncated``, ``not_an_image``,
            ``too_large``, ``too_small``, ``unsupported``, ``unreadable``, or
            ``depth_mismatch`` when the model input is made (see ``labeling.model_input``).
        reason: a sentence stating what is wrong and what to do.
    """

    def __init__(self, path: str | os.PathLike[str], kind: str, reason: str) -> None:
        self.path = str(path)
        self.kind = kind
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


@dataclass(frozen=True)
class ImageInfo:
    """Header facts of an image file, with EXIF orientation already applied to the size.

    ``orientation`` is the EXIF orientation tag (1 to 8) stored in the file, 1 when absent.
    """

    width: int
    height: int
    mode: str
    format: str
    orientation: int = 1


@dataclass(frozen=True)
class LoadedImage:
    """An upright, decoded image.

    ``pixels`` is H x W (grayscale) or H x W x 3 (RGB), ``uint8`` or ``uint16``.
    ``source_mode`` is the colour mode stored in the file (for example ``CMYK``
    or ``LA``), kept for reports and troubleshooting.
    """

    pixels: np.ndarray
    source: str
    source_mode: str

    @property
    def width(self) -> int:
        """Width in pixels."""
        return int(self.pixels.shape[1])

    @property
    def height(self) -> int:
        """Height in pixels."""
        return int(self.pixels.shape[0])

    @property
    def is_gray(self) -> bool:
        """True for single-channel images."""
        return self.pixels.ndim == 2

    @property
    def bit_depth(self) -> int:
        """Effective bit depth: 8 for ``uint8``, else the smallest of 10/12/14/16 that fits the data."""
        return effective_bit_depth(self.pixels)


def max_pixels_limit() -> int:
    """Return the pixel budget per image: ``DEFECTSEEK_MAX_PIXELS`` if set, else :data:`DEFAULT_MAX_PIXELS`.

    The CLI's ``--max-megapixels`` option sets that variable for its own process.
    """
    configured = os.environ.get(MAX_PIXELS_VARIABLE, "")
    return int(configured) if configured.isdigit() and int(configured) > 0 else DEFAULT_MAX_PIXELS


def effective_bit_depth(pixels: np.ndarray) -> int:
    """Return 8 for 8-bit data, else the smallest supported depth that fits the maximum value."""
    if pixels.dtype == np.uint8:
        return 8
    maximum = int(pixels.max()) if pixels.size else 0
    for bits in SUPPORTED_BIT_DEPTHS[1:]:
        if maximum < (1 << bits):
            return bits
    return 16


def read_image_info(path: str | os.PathLike[str]) -> ImageInfo:
    """Read only the header of ``path`` and return its upright size and mode.

    Raises:
        ImageReadError: the file is missing, empty or not an image.
    """
    data = _read_bytes(Path(path))
    with _open_pil(data, path) as image:
        return _info_of(image, str(path))


def read_image(
    path: str | os.PathLike[str],
    *,
    max_pixels: int | None = None,
    min_side_px: int = DEFAULT_MIN_SIDE_PX,
) -> LoadedImage:
    """Load ``path`` by the module's rules (``max_pixels`` defaults to :func:`max_pixels_limit`).

    Raises:
        ImageReadError: with ``kind`` and a message naming the file and the fix.
    """
    data = _read_bytes(Path(path))
    return decode_image(data, str(path), max_pixels=max_pixels, min_side_px=min_side_px)


def decode_image(
    data: bytes,
    source: str,
    *,
    max_pixels: int | None = None,
    min_side_px: int = DEFAULT_MIN_SIDE_PX,
) -> LoadedImage:
    """Decode encoded image bytes by the module's rules; ``source`` names them in errors."""
    if not data:
        raise ImageReadError(source, "empty", "the file is empty (0 bytes). Copy it again from the camera or remove it.")
    with _open_pil(data, source) as image:
        _check_size(source, *image.size, max_pixels or max_pixels_limit(), min_side_px)
        info = _info_of(image, source)
        pixels = _decode_pixels(image, data, source)
    return LoadedImage(pixels=pixels, source=source, source_mode=info.mode)


def image_from_array(
    array: np.ndarray,
    source: str = "array",
    *,
    channel_order: str = "RGB",
    min_side_px: int = DEFAULT_MIN_SIDE_PX,
) -> LoadedImage:
    """Apply the module's channel and depth rules to an in-memory frame (camera, GUI).

    Args:
        array: H x W, H x W x 1, H x W x 3 or H x W x 4, ``uint8`` or ``uint16``.
        source: a name for error messages, such as the camera id.
        channel_order: ``RGB`` or ``BGR`` (OpenCV captures are BGR).
        min_side_px: smallest accepted side.

    Raises:
        ImageReadError: unsupported dtype or layout, or a frame that is too small.
    """
    pixels = np.asarray(array)
    if pixels.dtype not in (np.uint8, np.uint16):
        raise ImageReadError(source, "unsupported", f"pixel type {pixels.dtype} is not supported; use uint8 or uint16.")
    if pixels.ndim == 3 and pixels.shape[2] == 1:
        pixels = pixels[:, :, 0]
    if pixels.ndim == 3 and pixels.shape[2] in (3, 4):
        pixels = pixels[:, :, :3]
        if channel_order.upper() == "BGR":
            pixels = pixels[:, :, ::-1]
    elif pixels.ndim != 2:
        raise ImageReadError(source, "unsupported", f"frame shape {pixels.shape} is not an image; expected H x W or H x W x 3.")
    _check_size(source, pixels.shape[1], pixels.shape[0], DEFAULT_MAX_PIXELS, min_side_px)
    return LoadedImage(pixels=np.ascontiguousarray(pixels), source=source, source_mode=f"array{pixels.shape}")


def to_model_rgb(image: LoadedImage | np.ndarray, bit_depth: int = 8) -> np.ndarray:
    """Return an H x W x 3 ``float32`` RGB array in the model's 0..255 range.

    The depth rule: ``uint8`` data is used as it is. ``uint16`` data is scaled by
    ``255 / (2**bit_depth - 1)`` and clipped, where ``bit_depth`` is the depth the
    model was trained with (recorded in the bundle), so a 12-bit ramp stays a ramp
    instead of saturating. Gray images are repeated into three channels, so a gray
    image and its 3-channel copy give the same input.
    """
    pixels = image.pixels if isinstance(image, LoadedImage) else np.asarray(image)
    values = pixels.astype(np.float32)
    if pixels.dtype == np.uint16:
        values *= 255.0 / float((1 << bit_depth) - 1)
        np.clip(values, 0.0, 255.0, out=values)
    if values.ndim == 2:
        values = np.repeat(values[:, :, None], 3, axis=2)
    return values


def to_display_rgb8(image: LoadedImage | np.ndarray) -> np.ndarray:
    """Return an H x W x 3 ``uint8`` RGB array for overlays and thumbnails (16-bit data stretched to its own range)."""
    pixels = image.pixels if isinstance(image, LoadedImage) else np.asarray(image)
    if pixels.dtype == np.uint16:
        bits = effective_bit_depth(pixels)
        pixels = np.clip(pixels.astype(np.float32) * (255.0 / ((1 << bits) - 1)), 0, 255).astype(np.uint8)
    if pixels.ndim == 2:
        pixels = np.repeat(pixels[:, :, None], 3, axis=2)
    return np.ascontiguousarray(pixels)


def read_mask(path: str | os.PathLike[str], shape: tuple[int, int] | None = None) -> np.ndarray:
    """Load a mask file as a boolean H x W array (any channel count; nonzero is defect).

    Args:
        path: the mask image.
        shape: expected (height, width); a mismatch raises with both sizes.
    """
    mask = read_image(path, min_side_px=1).pixels
    if mask.ndim == 3:
        mask = mask.max(axis=2)
    binary = mask > 0
    if shape is not None and binary.shape != tuple(shape):
        raise ImageReadError(
            path,
            "unsupported",
            f"mask size {binary.shape[1]}x{binary.shape[0]} does not match its image ({shape[1]}x{shape[0]}); "
            "export the mask at the image's size.",
        )
    return binary


def encode_png(pixels: np.ndarray) -> bytes:
    """Encode an RGB or gray array (``uint8`` or ``uint16``) as PNG bytes."""
    array = np.asarray(pixels)
    if array.ndim == 3:
        array = array[:, :, ::-1]
    ok, buffer = cv2.imencode(".png", np.ascontiguousarray(array))
    if not ok:
        raise ValueError(f"PNG encoding failed for an array of shape {array.shape} and type {array.dtype}")
    return buffer.tobytes()


def write_image(path: str | os.PathLike[str], pixels: np.ndarray, *, fsync: bool = True) -> Path:
    """Write an RGB or gray array atomically; the suffix picks the format (PNG, JPEG, BMP, TIFF).

    Works for paths in any script on every OS because encoding happens in memory.
    ``fsync`` is passed to :func:`labeling.fileio.atomic_write_bytes`.
    """
    target = Path(path)
    suffix = target.suffix.lower() or ".png"
    array = np.asarray(pixels)
    if array.ndim == 3:
        array = array[:, :, ::-1]
    ok, buffer = cv2.imencode(suffix, np.ascontiguousarray(array))
    if not ok:
        raise OSError(f"Could not encode {target}: format {suffix!r} is not supported; use .png, .jpg, .bmp or .tif.")
    return atomic_write_bytes(target, buffer.tobytes(), fsync=fsync)


def find_images(paths: Iterable[str | os.PathLike[str]]) -> tuple[list[Path], list[ImageReadError]]:
    """Expand files and folders (recursively) into a sorted list of image files.

    Returns:
        The image files, sorted per argument, and one error per argument that does
        not exist. Files given explicitly are kept whatever their suffix, so a
        mislabelled file is reported by the loader instead of being skipped.
    """
    found: list[Path] = []
    errors: list[ImageReadError] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found.extend(sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES))
        elif path.is_file():
            found.append(path)
        else:
            errors.append(ImageReadError(path, "missing", "no such file or folder; check the path."))
    return found, errors


def read_images(
    paths: Sequence[str | os.PathLike[str]], **kwargs: int
) -> tuple[list[LoadedImage], list[ImageReadError]]:
    """Load many files, collecting failures instead of stopping at the first one."""
    images: list[LoadedImage] = []
    errors: list[ImageReadError] = []
    for path in paths:
        try:
            images.append(read_image(path, **kwargs))
        except ImageReadError as error:
            logger.warning("%s", error)
            errors.append(error)
    return images, errors


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise ImageReadError(path, "missing", "file not found; check the path.") from None
    except IsADirectoryError:
        raise ImageReadError(path, "unsupported", "this is a folder, not an image file.") from None
    except OSError as error:
        raise ImageReadError(path, "unreadable", f"cannot read the file ({error.strerror}); check permissions.") from None


def _open_pil(data: bytes, source: str | os.PathLike[str]) -> Image.Image:
    if not data:
        raise ImageReadError(source, "empty", "the file is empty (0 bytes). Copy it again or remove it.")
    try:
        return Image.open(io.BytesIO(data))
    except UnidentifiedImageError:
        if data.startswith(IMAGE_SIGNATURES):
            raise ImageReadError(
                source, "truncated", "the file starts like an image but its header is incomplete; copy it again."
            ) from None
        raise ImageReadError(
            source, "not_an_image", "not an image file (unknown format); check that it is a PNG, JPEG, BMP or TIFF."
        ) from None
    except DECODER_ERRORS as error:
        raise ImageReadError(source, "truncated", f"the image header is damaged ({error}).") from None


def _info_of(image: Image.Image, source: str) -> ImageInfo:
    width, height = image.size
    try:
        # Pillow decodes a whole PNG to look for an EXIF chunk after the pixel data. Such files are
        # rare, so for PNG only EXIF found while reading the header counts.
        lazy_png = image.format == "PNG" and "exif" not in image.info
        orientation = 1 if lazy_png else image.getexif().get(0x0112, 1)
    except DECODER_ERRORS as error:
        raise ImageReadError(source, "truncated", f"the image header is damaged ({error}); copy the file again.") from None
    if orientation in (5, 6, 7, 8):
        width, height = height, width
    return ImageInfo(width=width, height=height, mode=image.mode, format=image.format or "", orientation=orientation)


def _check_size(source: str | os.PathLike[str], width: int, height: int, max_pixels: int, min_side_px: int) -> None:
    if width * height > max_pixels:
        raise ImageReadError(
            source,
            "too_large",
            f"image is {width}x{height} = {width * height:,} pixels, above the limit of {max_pixels:,}; "
            "raise the limit with --max-megapixels (or DEFECTSEEK_MAX_PIXELS) or split the image.",
        )
    if min(width, height) < min_side_px:
        raise ImageReadError(
            source,
            "too_small",
            f"image is {width}x{height} pixels, too small: each side must be at least {min_side_px} px.",
        )


def _decode_pixels(image: Image.Image, data: bytes, source: str) -> np.ndarray:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image.load()
            upright = ImageOps.exif_transpose(image) or image
    except DECODER_ERRORS as error:
        raise ImageReadError(
            source, "truncated", f"the image data is incomplete or damaged ({error}); copy the file again."
        ) from None
    if _is_deep_colour(image, data):
        return _decode_deep_colour(data, source, image.getexif().get(0x0112, 1))
    return _pil_to_array(upright, source)


def _pil_to_array(image: Image.Image, source: str) -> np.ndarray:
    mode = image.mode
    if mode in ("I;16", "I;16L", "I;16B", "I;16N"):
        return np.asarray(image, dtype=np.uint16).copy()
    if mode in ("I", "F"):
        values = np.asarray(image)
        if values.min() < 0 or values.max() > 65535:
            raise ImageReadError(source, "unsupported", f"{mode} pixel values outside 0..65535 are not supported.")
        return values.astype(np.uint16)
    if mode == "1":
        return (np.asarray(image, dtype=np.uint8) * 255).astype(np.uint8)
    if mode in ("L", "LA") or (mode == "P" and _palette_is_gray(image)):
        return np.asarray(image.convert("L"), dtype=np.uint8).copy()
    return np.asarray(image.convert("RGB"), dtype=np.uint8).copy()


def _palette_is_gray(image: Image.Image) -> bool:
    palette = image.getpalette() or []
    triples = np.asarray(palette[: (len(palette) // 3) * 3]).reshape(-1, 3)
    return bool(len(triples)) and bool(np.all(triples[:, 0] == triples[:, 1]) and np.all(triples[:, 1] == triples[:, 2]))


def _is_deep_colour(image: Image.Image, data: bytes) -> bool:
    """True for 16-bit-per-channel colour files, which Pillow would reduce to 8 bits."""
    if image.mode not in ("RGB", "RGBA"):
        return False
    if image.format == "PNG":
        return len(data) > 24 and data[24] == 16
    if image.format == "TIFF":
        bits = image.tag_v2.get(258, (8,))
        return max(bits if isinstance(bits, tuple) else (bits,)) == 16
    return False


def _decode_deep_colour(data: bytes, source: str, orientation: int) -> np.ndarray:
    decoded = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if decoded is None or decoded.ndim != 3:
        raise ImageReadError(source, "truncated", "the 16-bit colour data could not be decoded; copy the file again.")
    rgb = np.ascontiguousarray(decoded[:, :, 2::-1] if decoded.shape[2] >= 3 else decoded)
    return _apply_orientation(rgb, orientation)


def _apply_orientation(pixels: np.ndarray, orientation: int) -> np.ndarray:
    steps = {
        2: lambda a: a[:, ::-1],
        3: lambda a: a[::-1, ::-1],
        4: lambda a: a[::-1],
        5: lambda a: np.swapaxes(a, 0, 1),
        6: lambda a: np.rot90(a, -1),
        7: lambda a: np.rot90(a, 1)[::-1],
        8: lambda a: np.rot90(a, 1),
    }
    step = steps.get(orientation)
    return np.ascontiguousarray(step(pixels)) if step else pixels
