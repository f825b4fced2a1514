"""An animated GIF of a backward animation: the layout is rasterised once, Pillow
draws only what each frame changes.

dot renders the animation's DOT to PNG (the same text as the SVG, so the same
layout); every frame then repaints the grad cells, op circles and edges whose slots
changed on a running canvas, and draws the marks (outlines, flows) and the caption
on a copy of it. Curves and outlines are drawn at 3x and shrunk, so they are as
smooth as dot's own. All frames share one palette: the base picture's colours plus
every colour a slot can take, mapped without dithering, so consecutive frames differ
only where something changed and the GIF stays small.
"""

import io
from functools import lru_cache
from pathlib import Path

from ..diagrams.render import PNG_DPI, render
from ..exceptions import TooManyFramesError
from .storyboard import Animation, mark_scale
from .svg import caption_band
from .svg_template import TICK, Cell

__all__ = ["gif_bytes", "check_frame_count", "MAX_FRAMES"]

MAX_FRAMES = 400  # at 0.8 s a frame, over five minutes: a GIF is the wrong medium
# pixels: a frame, caption band included, at most as wide as a docs figure may be;
# wider ones are scaled down (dot rasterises at 144 dpi)
MAX_WIDTH = 1200
FRAME_MS, FIRST_MS, LAST_MS = 800, 1500, 3000
SMOOTH = 3  # supersampling of curves and outlines
FONT_DIRS = ("/usr/share/fonts/truetype/liberation", "/usr/share/fonts/truetype/dejavu",
             "/usr/share/fonts/opentype/noto")
# Liberation Sans is what fontconfig gives dot for Helvetica: numbers match the picture.
FONTS = {"number": ("LiberationSans-Regular.ttf", "DejaVuSans.ttf"),
         "italic": ("LiberationSans-Italic.ttf", "DejaVuSans-Oblique.ttf", "DejaVuSans.ttf"),
         "text": ("DejaVuSans.ttf",), "bold": ("DejaVuSans-Bold.ttf", "DejaVuSans.ttf"),
         "cjk": ("NotoSansCJK-Regular.ttc", "DejaVuSans.ttf")}


def gif_bytes(anim: Animation, max_frames: int = MAX_FRAMES) -> bytes:
    """The animation as an animated GIF that loops.

    Args:
        anim: from microgpt_trace.renderers.animation.storyboard.animate.
        max_frames: refuse longer animations.

    Returns:
        The GIF file as bytes: 0.8 s a frame, the first 1.5 s and the last 3 s.

    Raises:
        TooManyFramesError: more frames than max_frames; the message says how to
            get fewer.
        RenderError: dot failed.

    >>> from microgpt_trace.tracer.expression.evaluate import trace_expression
    >>> from microgpt_trace.tracer.replay import backward_frames
    >>> from microgpt_trace.renderers.animation.storyboard import animate
    >>> G = trace_expression("a*b + a")
    >>> gif_bytes(animate(G, backward_frames(G)))[:6]
    b'GIF89a'
    """
    count = check_frame_count(len(anim.values), max_frames)
    from PIL import Image

    scale = gif_scale(caption_band(anim).width)
    base = render(anim.dot, "png", dpi=base_dpi(scale))
    painter = Painter(anim, Image.open(io.BytesIO(base)).convert("RGB"))
    palette = painter.palette()
    frames = [painter.frame(k).quantize(palette=palette, dither=Image.Dither.NONE)
              for k in range(count)]
    durations = [FRAME_MS] * count
    durations[0], durations[-1] = FIRST_MS, LAST_MS
    out = io.BytesIO()
    frames[0].save(out, "GIF", save_all=True, append_images=frames[1:], duration=durations,
                   loop=0, optimize=True)
    return out.getvalue()


def check_frame_count(count: int, max_frames: int = MAX_FRAMES) -> int:
    """The count, if a GIF may have that many frames.

    Raises:
        TooManyFramesError: more than max_frames; the message says how to get fewer.

    >>> check_frame_count(400)
    400
    >>> check_frame_count(401)  # doctest: +ELLIPSIS, +NORMALIZE_WHITESPACE
    Traceback (most recent call last):
    ...
    microgpt_trace.renderers.exceptions.TooManyFramesError: 401 frames is too many for a GIF
    (at most 400)...
    """
    if count > max_frames:
        raise TooManyFramesError(
            f"{count} frames is too many for a GIF (at most {max_frames}): use "
            "--granularity scope or level for fewer, bigger steps, or --model --depth 1 "
            "for a whole model; an .html stepper has no cap")
    return count


def gif_scale(width: float) -> float:
    """Pixels per point: 2 (dot's 144 dpi), less for frames wider than MAX_WIDTH allows.

    >>> gif_scale(450), gif_scale(2400)
    (2.0, 0.5)
    """
    return min(2.0, MAX_WIDTH / width) if width else 2.0


def base_dpi(scale: float) -> float:
    """The dpi dot draws the base picture at: 144, or 4x the GIF's own for a graph
    shrunk below half size. A 40-term sum is some 12,000 points wide: at 144 dpi
    cairo would draw it for seconds at its 32,767-pixel limit only to be shrunk 20x.

    >>> base_dpi(2.0), base_dpi(0.5), base_dpi(0.25)
    (144, 144, 72.0)
    """
    return PNG_DPI if scale >= 0.5 else PNG_DPI * 2 * scale


def inner_box(x0: int, y0: int, x1: int, y1: int) -> tuple:
    """A cell's pixel box less its one-pixel border, where it has room for one: shrunk
    to a sliver, a wide graph's cell would otherwise turn inside out.

    >>> inner_box(0, 0, 10, 1)
    (1, 0, 9, 1)
    """
    (a, c), (b, d) = ((lo + 1, hi - 1) if hi - lo >= 2 else (lo, hi)
                      for lo, hi in ((x0, x1), (y0, y1)))
    return a, b, c, d


def font(kind, size):
    return load_font(kind, max(1, round(size)))


@lru_cache(maxsize=None)
def load_font(kind, size):
    """The first font of FONTS[kind] installed, else Pillow's own."""
    from PIL import ImageFont

    for name in FONTS[kind]:
        for folder in FONT_DIRS:
            path = Path(folder) / name
            if path.exists():
                return ImageFont.truetype(str(path), size)
    return ImageFont.load_default(size)


def rgb(colour):
    return tuple(int(colour[i:i + 2], 16) for i in (1, 3, 5))


class Painter:
    """Draws frames in pixels: points times `scale`, the caption band below the graph."""

    def __init__(self, anim, base):
        from PIL import Image

        self.anim = anim
        width, height = anim.size
        self.band = caption_band(anim)
        self.scale = gif_scale(self.band.width)
        size = (round(self.band.width * self.scale), round(self.band.height * self.scale))
        self.canvas = Image.new("RGB", size, "#ffffff")
        graph = (round(width * self.scale), round(height * self.scale))
        self.canvas.paste(base.resize(graph, Image.LANCZOS) if base.size != graph else base)
        self.owner = {}  # slot -> the cell or circle it paints
        for item in list(anim.cells.values()) + list(anim.circles.values()):
            for slot in item.slots:
                self.owner[slot] = item
        self.values = None
        self.drawn = set()  # edges drawn as done on the canvas

    def px(self, x, y):
        return x * self.scale, y * self.scale

    def palette(self):
        """255 colours: the slot colours and marks exactly, the picture's for the rest.

        The 256th stays free: the GIF writer marks unchanged pixels with it."""
        from PIL import Image

        first = ["#ffffff", "#000000", "#111111", "#666666", "#bbbbbb", self.anim.accent,
                 self.anim.check]
        slots = sorted({v for values in self.anim.values for v in values
                        if v.startswith("#") and len(v) == 7} - set(first))
        exact = [rgb(c) for c in first + slots[:192 - len(first)]]
        rest = self.canvas.quantize(255 - len(exact)).getpalette()[:3 * (255 - len(exact))]
        # Pillow maps to a palette only approximately: a near-white would take white's place
        rest = [c for c in zip(rest[::3], rest[1::3], rest[2::3])
                if min(sum(abs(a - b) for a, b in zip(c, e)) for e in exact) > 24]
        flat = [v for colour in exact + rest for v in colour]
        image = Image.new("P", (1, 1))
        image.putpalette(flat)
        return image

    def frame(self, k):
        """Frame k: update the running canvas, then draw the marks on a copy."""
        from PIL import ImageDraw

        values = self.anim.values[k]
        changed = dict.fromkeys(self.owner[i] for i, v in enumerate(values) if i in self.owner
                                and (self.values is None or v != self.values[i]))
        draw = ImageDraw.Draw(self.canvas)
        for item in changed:
            (self.cell if isinstance(item, Cell) else self.circle)(draw, item, values)
        for key in self.anim.flowing[k]:
            if key not in self.drawn:
                self.drawn.add(key)
                colour, width = self.anim.done[key]
                self.edge(self.canvas, self.anim.edges[key], colour, width)
        self.values = values
        image = self.canvas.copy()
        for key in self.anim.flowing[k]:
            self.edge(image, self.anim.edges[key], self.anim.accent,
                      self.anim.done[key][1] + 1.5)
        self.marks(image, self.anim.marks[k])
        self.caption(image, k)
        return image

    def cell(self, draw, cell, values):
        fill, text, colour, style, tick, tick_colour = (values[i] for i in cell.slots)
        x0, y0, x1, y1 = (round(v) for v in (*self.px(*cell.rect[:2]), *self.px(*cell.rect[2:])))
        draw.rectangle(inner_box(x0, y0, x1, y1), fill=fill)
        size = cell.size * self.scale
        y = cell.baseline * self.scale
        draw.text((x1 - 4 * self.scale, y), text, fill=colour, anchor="rs",
                  font=font("italic" if style == "italic" else "number", size))
        if tick == "visible":
            draw.text((x0 + 3 * self.scale, y), TICK, fill=tick_colour, anchor="ls",
                      font=font("bold", size * 0.85))

    def circle(self, draw, circle, values):
        fill, colour, _ = (values[i] for i in circle.slots)
        cx, cy = self.px(*circle.ellipse[:2])
        rx, ry = (max(0.0, r * self.scale - 1.5) for r in circle.ellipse[2:])
        draw.ellipse((cx - rx, cy - ry, cx + rx, cy + ry), fill=fill)
        draw.text((cx, circle.baseline * self.scale), circle.symbol, fill=colour, anchor="ms",
                  font=font("number", circle.size * self.scale))

    def smooth(self, image, points, colour, paint):
        """Draw with `paint(draw, to_px, factor)` at SMOOTH times the size, then shrink."""
        from PIL import Image, ImageDraw

        pad = 8 * self.scale * mark_scale(self.anim)
        xs, ys = [p[0] * self.scale for p in points], [p[1] * self.scale for p in points]
        x0, y0 = max(0, int(min(xs) - pad)), max(0, int(min(ys) - pad))
        x1, y1 = min(image.width, int(max(xs) + pad) + 1), min(image.height, int(max(ys) + pad) + 1)
        if x1 <= x0 or y1 <= y0:
            return
        big = Image.new("RGBA", ((x1 - x0) * SMOOTH, (y1 - y0) * SMOOTH), rgb(colour) + (0,))
        paint(ImageDraw.Draw(big), lambda x, y: ((x * self.scale - x0) * SMOOTH,
                                                 (y * self.scale - y0) * SMOOTH), SMOOTH)
        layer = big.reduce(SMOOTH)
        image.paste(layer, (x0, y0), layer)

    def edge(self, image, edge, colour, width):
        """An edge's path (cubic curves, sampled) and its arrowhead."""
        if len(edge.points) < 4:
            return

        def paint(draw, to_px, factor):
            line = [to_px(*p) for p in sampled(edge.points)]
            draw.line(line, fill=colour, width=max(1, round(width * self.scale * factor)),
                      joint="curve")
            draw.polygon([to_px(*p) for p in edge.arrow], fill=colour, outline=colour)

        self.smooth(image, edge.points + edge.arrow, colour, paint)

    def marks(self, image, marks):
        from PIL import ImageDraw

        s = mark_scale(self.anim)
        accent = self.anim.accent
        for kind, a, b, c, *d in marks:
            if kind == "label":
                continue
            corners = ([(a - c, b - d[0]), (a + c, b + d[0])] if kind == "ring"
                       else [(a, b), (c, d[0])])

            def paint(draw, to_px, factor, kind=kind, corners=corners):
                box = [*to_px(*corners[0]), *to_px(*corners[1])]
                width = max(1, round(2.5 * s * self.scale * factor))
                if kind == "ring":
                    draw.ellipse(box, outline=accent, width=width)
                else:
                    draw.rounded_rectangle(box, radius=3 * self.scale * factor, outline=accent,
                                           width=width)

            self.smooth(image, corners, accent, paint)
        draw = ImageDraw.Draw(image)
        label = font("bold", 10 * s * self.scale)
        for _kind, x, y, text in (m for m in marks if m[0] == "label"):
            draw.text((x * self.scale, (y - 3 * s) * self.scale), text, fill=accent,
                      anchor="ms", font=label, stroke_width=max(1, round(1.5 * s * self.scale)),
                      stroke_fill="#ffffff")

    def caption(self, image, k):
        """The band under the graph: frame number, legend, then the caption lines."""
        from PIL import ImageDraw

        draw = ImageDraw.Draw(image)
        band, scale = self.band, self.scale
        top = band.top * scale
        draw.line((0, top, image.width, top), fill="#bbbbbb")
        size = band.size * scale
        for i, (indent, text, style) in enumerate(band.lines(self.anim, k)):
            x, y = (band.size * 0.8 + indent * band.size * 0.5) * scale, top + size * 1.35 * (i + 1)
            face = font("bold" if style == "bold" else "cjk" if has_cjk(text) else "text", size)
            draw.text((x, y), text, fill="#666666" if style == "muted" else "#111111",
                      anchor="ls", font=face)


def has_cjk(text):
    return any("\u2e80" <= c <= "\u9fff" or "\uac00" <= c <= "\ud7af" or "\uff00" <= c <= "\uffef"
               for c in text)


def sampled(points, steps=12):
    """A path of cubic curves (start, then 3 points per curve) as a polyline."""
    out = [points[0]]
    for i in range(0, len(points) - 3, 3):
        p0, p1, p2, p3 = points[i:i + 4]
        for j in range(1, steps + 1):
            t = j / steps
            w = ((1 - t) ** 3, 3 * t * (1 - t) ** 2, 3 * t * t * (1 - t), t ** 3)
            out.append(tuple(sum(wi * p[d] for wi, p in zip(w, (p0, p1, p2, p3)))
                             for d in (0, 1)))
    return out
