"""Images referenced from Markdown with a relative path: found, checked, copied.

A session, goal or page may show `![alt](photo.jpg)` with the file next to it
(or in its `<name>/index.md` bundle). The file is copied next to the entry's
page and the link rewritten, so the site stays self-contained. A path that is
absolute, URL-encoded past the content folder, or leads out of it through
`..` or a symlink is refused: content never makes us read outside `content/`.
"""

from __future__ import annotations

import io
import posixpath
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

IMAGE_TYPES = {".png", ".jpg", ".jpeg", ".gif", ".webp", ".avif", ".svg"}
GPS_IFD = 0x8825  # the EXIF pointer to the GPS tags


@dataclass(frozen=True)
class Image:
    source: Path  # the file on disk, inside content/
    path: str  # its site path, e.g. "sessions/2026-07-26-first-5k/finish.jpg"
    alt: str


def is_local(src: str) -> bool:
    """A relative reference to a file of the project (not a URL, an anchor or a data: URI)."""
    parts = urlsplit(src)
    return not (parts.scheme or parts.netloc or src.startswith(("/", "#")) or not parts.path)


def resolve(root: Path, entry_source: str, src: str) -> tuple[Path | None, str]:
    """The image file `src` refers to from the entry at `entry_source`, or (None, why not)."""
    raw = unquote(urlsplit(src).path)
    if raw.startswith("/") or "\\" in raw or "\x00" in raw:
        return None, f'image path "{src}" must be relative to the entry'
    content = (root / "content").resolve()
    target = (root / entry_source).parent / raw
    try:
        real = target.resolve()  # follows symlinks, so a link out of content/ is caught below
    except (OSError, RuntimeError):
        return None, f'image path "{src}" cannot be resolved'
    if not real.is_relative_to(content):
        return None, f'image "{src}" is outside the content folder'
    if not real.is_file():
        shown = real.relative_to(root.resolve()).as_posix() if real.is_relative_to(root.resolve()) else real
        return None, f'image "{src}" not found (looked for {shown})'
    if real.suffix.lower() not in IMAGE_TYPES:
        return None, f'"{src}" is not an image ({", ".join(sorted(IMAGE_TYPES))})'
    return real, ""


def as_checked(root: Path, rel: str, checks: tuple[tuple[str, str], ...]) -> bool:
    """Whether a file's local images are as they were when it was read (`checks`: each one's
    src and what was found then): an image removed, or one added that was missing, changes
    what its unchanged file yields (a diagnostic, or a copy of the image that would fail), so
    the file is read again, and it counts as changed (the everyday edit's fast path, whose
    snapshot would copy the image, steps aside)."""
    for src, was in checks:
        found, why = resolve(root, rel, src)
        if (str(found) if found is not None else why) != was:
            return False
    return True


class Placer:
    """Gives each image of one entry a unique file name in the entry's folder."""

    def __init__(self, folder: str):
        self.folder = folder
        self.taken: dict[str, Path] = {}

    def place(self, source: Path) -> str:
        stem, suffix = source.stem, source.suffix.lower()
        name, n = f"{stem}{suffix}", 1
        while name in self.taken and self.taken[name] != source:
            n += 1
            name = f"{stem}-{n}{suffix}"
        self.taken[name] = source
        return posixpath.join(self.folder, name)


def without_location(source: Path) -> bytes | None:
    """The image re-saved without GPS data (EXIF GPS tags, XMP), or None when it has none.

    Photos from phones carry where they were taken, often the author's home. Only
    images that do are re-encoded (JPEG with its own quantisation tables, so the
    loss is minimal); every other image is published byte for byte."""
    from PIL import Image as Picture  # here, not at start-up: most builds copy no photo
    from PIL import UnidentifiedImageError

    try:
        with Picture.open(source) as picture:
            exif = picture.getexif()
            xmp = picture.info.get("xmp") or picture.info.get("XML:com.adobe.xmp") or b""
            xmp = xmp.encode() if isinstance(xmp, str) else xmp
            if not (exif.get_ifd(GPS_IFD) or GPS_IFD in exif or b"GPS" in xmp):
                return None
            exif.pop(GPS_IFD, None)
            options: dict = {"exif": exif.tobytes()}
            if picture.info.get("icc_profile"):
                options["icc_profile"] = picture.info["icc_profile"]
            if picture.format == "JPEG":
                options.update(quality="keep", subsampling="keep")
            out = io.BytesIO()
            picture.save(out, format=picture.format, **options)  # XMP is not carried over
            return out.getvalue()
    except (UnidentifiedImageError, OSError, ValueError):  # SVG and friends carry no EXIF
        return None
