"""The widget's PNG logos, drawn in code (a tiny PNG encoder, no imaging library).

amoCRM wants five logos in ``images/`` at fixed sizes (see :data:`LOGO_SIZES`). They are committed
in ``widget/images``; ``python -m amo_bridge.widget.logos widget/images`` draws them again.
"""

from __future__ import annotations

import struct
import sys
import zlib
from pathlib import Path

# File name -> (width, height), as the amoCRM / Kommo widget documentation lists them.
LOGO_SIZES: dict[str, tuple[int, int]] = {
    "logo.png": (130, 100),
    "logo_main.png": (400, 272),
    "logo_small.png": (108, 108),
    "logo_min.png": (84, 84),
    "logo_medium.png": (240, 84),
}

BACKGROUND = (43, 108, 176)
FOREGROUND = (255, 255, 255)


def _chunk(kind: bytes, data: bytes) -> bytes:
    return (
        struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    )


def encode_png(width: int, height: int, rows: list[bytes]) -> bytes:
    """An 8-bit RGB PNG from ``height`` rows of ``3 * width`` bytes."""
    raw = b"".join(b"\x00" + row for row in rows)
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(raw, 9))
        + _chunk(b"IEND", b"")
    )


def png_size(data: bytes) -> tuple[int, int]:
    """(width, height) of a PNG; ``ValueError`` if ``data`` is not one."""
    if len(data) < 24 or data[:8] != b"\x89PNG\r\n\x1a\n" or data[12:16] != b"IHDR":
        raise ValueError("not a PNG file")
    width, height = struct.unpack(">II", data[16:24])
    return int(width), int(height)


def draw_logo(width: int, height: int) -> bytes:
    """A blue tile with three rising white bars: the dashboard's mark."""
    side = min(width, height)
    bar_w = max(side // 7, 2)
    gap = bar_w // 2 + 1
    total = 3 * bar_w + 2 * gap
    left = (width - total) // 2
    bottom = (height + side * 6 // 10) // 2
    heights = [side * 3 // 10, side * 45 // 100, side * 6 // 10]
    rows = []
    for y in range(height):
        row = bytearray()
        for x in range(width):
            colour = BACKGROUND
            for index, bar_h in enumerate(heights):
                x0 = left + index * (bar_w + gap)
                if x0 <= x < x0 + bar_w and bottom - bar_h <= y < bottom:
                    colour = FOREGROUND
            row += bytes(colour)
        rows.append(bytes(row))
    return encode_png(width, height, rows)


def write_logos(folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, (width, height) in LOGO_SIZES.items():
        path = folder / name
        path.write_bytes(draw_logo(width, height))
        written.append(path)
    return written


if __name__ == "__main__":  # pragma: no cover
    for written_path in write_logos(Path(sys.argv[1] if len(sys.argv) > 1 else "widget/images")):
        print(written_path)
