"""The seal's picture: the red round seal of a Chinese department, drawn from its name.

The geometry is computed once (:func:`layout`) and drawn twice: as SVG for the console and the
seal's stored picture (:func:`svg`), and on a PDF page by :mod:`datong.licenses.render`. Nothing
comes from a stock picture, so each department's seal shows its own name.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from xml.sax.saxutils import escape

RED = "#d7261e"


@dataclass(frozen=True)
class Glyph:
    char: str
    x: float  # centre, on a unit circle of radius 1 around (0, 0), y pointing up
    y: float
    rotation: float  # degrees clockwise
    size: float


@dataclass(frozen=True)
class Layout:
    ring: float  # ring width, relative to the radius
    arc: tuple[Glyph, ...]  # the department's name along the upper arc
    star: tuple[tuple[float, float], ...]  # ten points of the five-pointed star
    label: tuple[Glyph, ...]  # the seal's kind, straight, under the star


def layout(name: str, label: str = "") -> Layout:
    chars = [c for c in name if not c.isspace()][:24]
    spread = min(250.0, 24.0 * max(len(chars) - 1, 1) + 24.0)
    size = min(0.24, 1.9 / max(len(chars), 4))
    arc = []
    for i, char in enumerate(chars):
        theta = -spread / 2 + (spread * i / (len(chars) - 1) if len(chars) > 1 else spread / 2)
        rad = math.radians(theta)
        arc.append(Glyph(char, 0.72 * math.sin(rad), 0.72 * math.cos(rad), theta, size))
    star = tuple((0.27 * (1 if k % 2 == 0 else 0.382) * math.sin(math.radians(36 * k)),
                  0.27 * (1 if k % 2 == 0 else 0.382) * math.cos(math.radians(36 * k)) + 0.02) for k in range(10))
    text = label[:10]
    label_size = min(0.16, 1.1 / max(len(text), 1))
    glyphs = tuple(Glyph(c, (i - (len(text) - 1) / 2) * label_size * 1.05, -0.52, 0.0, label_size)
                   for i, c in enumerate(text))
    return Layout(ring=0.05, arc=tuple(arc), star=star, label=glyphs)


def svg(name: str, label: str = "", size: int = 160) -> str:
    """The seal as a standalone SVG document, ``size`` pixels across."""
    shape = layout(name, label)
    half = size / 2

    def at(x: float, y: float) -> tuple[float, float]:
        return half + x * (half - 2), half - y * (half - 2)

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{size}" height="{size}" viewBox="0 0 {size} {size}" '
             f'role="img" aria-label="{escape(name)}">',
             f'<circle cx="{half}" cy="{half}" r="{half - 2 - shape.ring * half / 2:.2f}" fill="none" '
             f'stroke="{RED}" stroke-width="{shape.ring * half:.2f}"/>']
    points = " ".join("{:.2f},{:.2f}".format(*at(x, y)) for x, y in shape.star)
    parts.append(f'<polygon points="{points}" fill="{RED}"/>')
    for glyph in shape.arc + shape.label:
        x, y = at(glyph.x, glyph.y)
        parts.append(f'<text x="{x:.2f}" y="{y:.2f}" font-size="{glyph.size * half:.2f}" fill="{RED}" '
                     f'text-anchor="middle" dominant-baseline="central" font-family="serif" '
                     f'transform="rotate({glyph.rotation:.2f} {x:.2f} {y:.2f})">{escape(glyph.char)}</text>')
    parts.append("</svg>")
    return "".join(parts)
