"""How fast backward animations are: one layout for all frames against `dot` per frame.

One attention head of data/checkpoint.json on a text (atomic engine: each dot product
a chain of * and +, about 170 nodes), replayed node by node from its outputs' grads.
For the first 50 frames and for all of them it times, side by side in one run:

- SVG frames: microgpt_trace.renderers.animation (dot once, then each frame patches the
  SVG) against a naive renderer that sets each frame's grads on the graph, writes the
  DOT again and runs `dot -Tsvg` on it;
- the HTML stepper (dot once, per-frame changes as JSON), against the same naive SVGs;
- the GIF (dot -Tpng once, Pillow draws what changes), against `dot -Tpng` per frame
  put together by Pillow;

and prints a markdown table with the ratios and the sizes of the HTML and the GIFs.
Targets: SVG frames and HTML at least 10x faster than naive at 50 frames; the HTML of
a head under 2 MB. Nothing is asserted about time.

    .venv/bin/python benchmarks/bench_frames.py [--text anna] [--head 2]
"""

import argparse
import io
import time

from microgpt_trace.renderers.animation.gif import FIRST_MS, FRAME_MS, LAST_MS, gif_bytes
from microgpt_trace.renderers.animation.stepper import stepper_html
from microgpt_trace.renderers.animation.storyboard import animate
from microgpt_trace.renderers.animation.svg import frame_svgs
from microgpt_trace.renderers.diagrams.render import render
from microgpt_trace.renderers.diagrams.source import dot_source
from microgpt_trace.tracer.checkpoint_trace import trace_checkpoint_head
from microgpt_trace.tracer.replay import backward_frames, grads_after


def timed(fn):
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def naive_states(H, frames):
    """The graph as each frame would draw it: grads so far on every node."""
    for grads in grads_after(H, frames):
        G = H.copy()
        for n, g in grads.items():
            G.nodes[n]["grad"] = g
        yield G


def naive_svgs(H, frames):
    return [render(dot_source(G), "svg") for G in naive_states(H, frames)]


def naive_gif(H, frames):
    from PIL import Image

    images = [Image.open(io.BytesIO(render(dot_source(G), "png"))).convert("RGB")
              for G in naive_states(H, frames)]
    size = images[0].size
    palette = images[-1].quantize(255)
    frames_p = [im.resize(size).quantize(palette=palette) for im in images]
    durations = [FRAME_MS] * len(frames_p)
    durations[0], durations[-1] = FIRST_MS, LAST_MS
    out = io.BytesIO()
    frames_p[0].save(out, "GIF", save_all=True, append_images=frames_p[1:],
                     duration=durations, loop=0, optimize=True)
    return out.getvalue()


def row(what, count, fast, slow, size=""):
    return f"| {what} | {count} | {fast:.2f} | {slow:.2f} | {slow / fast:.1f}x | {size} |"


def kb(n):
    return f"{n / 1024:,.0f} KB"


def bench(H, frames):
    """The table rows for these frames: SVG frames, HTML, GIF, each against naive."""
    n = len(frames)
    t_svg, _ = timed(lambda: frame_svgs(animate(H, frames)))
    t_naive, _ = timed(lambda: naive_svgs(H, frames))
    t_html, page = timed(lambda: stepper_html(animate(H, frames)))
    t_gif, gif = timed(lambda: gif_bytes(animate(H, frames)))
    t_naive_gif, slow_gif = timed(lambda: naive_gif(H, frames))
    return [row("SVG frames", n, t_svg, t_naive),
            row("HTML stepper", n, t_html, t_naive, kb(len(page.encode("utf-8")))),
            row("GIF", n, t_gif, t_naive_gif, f"{kb(len(gif))} (naive {kb(len(slow_gif))})")]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--text", default="anna")
    parser.add_argument("--layer", type=int, default=0)
    parser.add_argument("--head", type=int, default=2)
    parser.add_argument("--engine", default="atomic", choices=["atomic", "fused"])
    args = parser.parse_args()
    H = trace_checkpoint_head(text=args.text, layer=args.layer, head=args.head,
                              engine=args.engine)
    frames = backward_frames(H, seeds={r: H.nodes[r]["grad"] for r in H.graph["roots"]})
    print(f"head: text {args.text!r}, layer {args.layer}, head {args.head}, position "
          f"{len(args.text)}, {args.engine} engine: {H.number_of_nodes()} nodes, "
          f"{H.number_of_edges()} edges, {len(frames)} frames\n")
    print("| output | frames | one layout (s) | naive, dot per frame (s) | ratio | size |")
    print("|---|---:|---:|---:|---:|---|")
    for count in (50, len(frames)):
        for line in bench(H, frames[:count]):
            print(line)


if __name__ == "__main__":
    main()
