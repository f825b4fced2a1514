"""The explorer page in headless Chromium, on a tiny model small enough to build in
seconds: links, clicks, hover, the inspector against the traced graph, search, zoom,
the stepper against `backward --scope`, isolation in a notebook, no network, and text
readable on a 1280x720 projector in every view a test opens."""


import pytest

from microgpt_trace.renderers.diagrams.values import node_names
from microgpt_trace.renderers.explorer.page import explorer_page, notebook_html
from microgpt_trace.tracer.checkpoint_trace import trace_checkpoint_text
from microgpt_trace.tracer.replay_views import replay_scope
from microgpt_trace.tracer.scope_view import scope_view

from ...tracer.tiny_models import save_tiny_checkpoint

pytestmark = [pytest.mark.browser, pytest.mark.exe, pytest.mark.slow]

CAP = 120  # positions, layers and pos2's attention open as blocks; an MLP is a scope
TEXT = "ab"
PROJECTOR = {"width": 1280, "height": 720}
MIN_TEXT = 11  # px


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    folder = tmp_path_factory.mktemp("explorer")
    checkpoint = save_tiny_checkpoint(folder / "tiny.json")
    graph = trace_checkpoint_text(text=TEXT, checkpoint=checkpoint, engine="fused")
    page = explorer_page(graph, max_nodes=CAP)
    path = folder / "explore.html"
    path.write_text(page, encoding="utf-8")
    return {"path": path, "graph": graph, "checkpoint": checkpoint, "page": page}


@pytest.fixture
def explorer(page, built):
    """The page at 1280x720 with every request recorded (only file: and data: may load)."""
    page.set_viewport_size(PROJECTOR)
    page.requests = []
    page.context.route("**/*", lambda route: (page.requests.append(route.request.url),
                                              route.continue_()))
    page.built = built
    yield page
    assert page.errors == []
    assert all(url.startswith(("file:", "data:", "about:")) for url in page.requests), \
        page.requests


def opened(page, scope, count):
    """Wait for the count-th view to have opened, on `scope`; check it reads at 11 px."""
    page.wait_for_function("([scope, n]) => window.explorerTimings && "
                           "window.explorerTimings.length >= n && "
                           "document.getElementById('view').dataset.scope === scope",
                           arg=[scope, count], timeout=20000)
    timing = page.evaluate("window.explorerTimings")[count - 1]
    assert timing["scope"] == scope and timing["ms"] > 0
    print(f"view {scope or '(root)'!r} opened in {timing['ms']:.0f} ms")
    smallest = page.evaluate("""() => {
        const svg = document.querySelector('#canvas > svg');
        const k = svg.clientWidth / svg.viewBox.baseVal.width;
        let best = null;
        for (const t of svg.querySelectorAll('text[font-size]')) {
          const px = parseFloat(t.getAttribute('font-size')) * k;
          if (!best || px < best.px) { best = {px, box: t.getBoundingClientRect().height}; }
        }
        return best;
      }""")
    assert smallest["px"] >= MIN_TEXT - 1e-3, (scope, smallest)  # viewBox is float32
    assert smallest["box"] >= MIN_TEXT, (scope, smallest)


def goto(page, scope=""):
    page.goto(page.built["path"].as_uri() + (f"#{scope}" if scope else ""))
    opened(page, scope, 1)


def names_of(built, scope):
    return {n: name for n, name in node_names(scope_view(built["graph"], scope)).items()}


def test_a_link_with_a_hash_opens_that_view(explorer):
    goto(explorer, "pos1/layer0/mlp")
    assert explorer.get_attribute("#view", "data-kind") == "scope"
    assert explorer.title() == f"explore · {explorer.built['graph'].graph['source']} · " \
                               "pos1/layer0/mlp"
    crumbs = explorer.locator("#crumbs button").all_inner_texts()
    assert crumbs == ["model", "pos1", "layer0", "mlp"]


def test_an_unknown_hash_says_so_and_shows_the_model(explorer):
    goto(explorer, "")
    explorer.evaluate("location.hash = '#pos9/nothing'")
    opened(explorer, "", 2)
    assert "pos9/nothing" in explorer.inner_text("#notice")


def test_click_from_blocks_down_to_an_op_and_back_by_the_breadcrumbs(explorer):
    goto(explorer)
    assert explorer.get_attribute("#view", "data-kind") == "blocks"
    explorer.click("#crumbs button[aria-current]")  # the root's own crumb does nothing
    assert explorer.evaluate("window.explorerTimings.length") == 1
    target = "pos2/layer0/attn/head1"
    click_block(explorer, target)
    opened(explorer, target, 2)
    # an op of the head: its inspector opens
    name = names_of(explorer.built, target)[op_node(explorer.built, target, "L0.h1.w[t=1]")]
    click_hit(explorer, name)
    assert explorer.get_attribute("#inspector", "data-node") == name
    explorer.click("#crumbs button:text-is('attn')")
    opened(explorer, "pos2/layer0/attn", 3)
    assert explorer.get_attribute("#view", "data-kind") == "blocks"  # over the cap
    click_block(explorer, "pos2/layer0/attn/proj")
    opened(explorer, "pos2/layer0/attn/proj", 4)
    explorer.go_back()
    opened(explorer, "pos2/layer0/attn", 5)
    explorer.click("#crumbs button:text-is('model')")
    opened(explorer, "", 6)


def test_a_cluster_opens_its_sub_scope(explorer):
    goto(explorer, "pos1/layer0/mlp")
    title = explorer.locator("g.cluster.opens[data-opens='pos1/layer0/mlp/fc1'] > text")
    centre(explorer, title)
    title.click()
    opened(explorer, "pos1/layer0/mlp/fc1", 2)


def click_block(page, scope):
    """Click the block that opens `scope`."""
    hit = page.locator(f".hit.opens[data-opens='{scope}']").first
    centre(page, hit)
    hit.click()


def click_hit(page, name):
    hit = page.locator(f".hit[data-node='{name}']").first
    centre(page, hit)
    hit.click()


def centre(page, hit):
    """Drag the drawing until the node is in the middle of the view, as a user pans."""
    view = page.locator("#canvas").bounding_box()
    cx, cy = view["x"] + view["width"] / 2, view["y"] + view["height"] / 2
    for _ in range(30):
        box = hit.bounding_box()
        dx, dy = cx - box["x"] - box["width"] / 2, cy - box["y"] - box["height"] / 2
        if abs(dx) < 2 and abs(dy) < 2:
            return
        dx, dy = max(-300, min(300, dx)), max(-200, min(200, dy))
        page.mouse.move(cx - dx / 2, cy - dy / 2)
        page.mouse.down()
        page.mouse.move(cx + dx / 2, cy + dy / 2, steps=4)
        page.mouse.up()
    raise AssertionError("could not drag the node into view")


def op_node(built, scope, label):
    H = scope_view(built["graph"], scope)
    return next(n for n, d in H.nodes(data=True) if d["label"] == label)


def test_hover_lights_inputs_and_outputs(explorer):
    scope = "pos1/layer0/mlp"
    goto(explorer, scope)
    H = scope_view(explorer.built["graph"], scope)
    names = node_names(H)
    relu = op_node(explorer.built, scope, "L0.relu[3]")
    click_hit(explorer, names[relu])
    explorer.locator(f".hit[data-node='{names[relu]}']").first.hover()
    lit_in = explorer.eval_on_selector_all(".hit.lit-in", "rs => rs.map(r => r.dataset.node)")
    lit_out = explorer.eval_on_selector_all(".hit.lit-out", "rs => rs.map(r => r.dataset.node)")
    assert set(lit_in) == {names[u] for u in H.predecessors(relu)}
    assert set(lit_out) == {names[v] for v in H.successors(relu)}
    assert explorer.get_attribute("#veil", "visibility") == "visible"
    lifted = explorer.eval_on_selector_all("#veil-mask g.hole > g.edge", "gs => gs.length")
    assert lifted >= 1  # its edges show through the veil too
    explorer.mouse.move(600, 20)  # onto the header
    assert explorer.get_attribute("#veil", "visibility") == "hidden"


def inspector_numbers(page):
    return page.eval_on_selector_all(
        "#inspector [data-field]", "els => els.map(e => [e.dataset.field, e.dataset.value])")


def test_the_inspector_shows_the_traced_numbers(explorer):
    built, scope = explorer.built, "pos1/layer0/mlp"
    goto(explorer, scope)
    H = scope_view(built["graph"], scope)
    names = node_names(H)
    for label in ("L0.fc1[2]", "L0.xn2[0]"):
        n = next(n for n, d in H.nodes(data=True) if d["label"] == label)
        click_hit(explorer, names[n])
        fields = inspector_numbers(explorer)
        d = H.nodes[n]
        values = {k: float(v) for k, v in fields if k != "local"}
        assert values["data"] == d["data"] and values["grad"] == d["grad"]
        here = d["from_here"] if d["role"] == "input" else values["grad"]
        assert values["here"] == here
        locals_ = [float(v) for k, v in fields if k == "local"]
        by_arg = sorted(H.in_edges(n, data=True), key=lambda e: e[2]["arg"])
        assert locals_ == [e["local_grad"] for _, _, e in by_arg]
        terms = explorer.inner_text("#inspector pre.terms").splitlines()
        assert terms[-1].endswith(f"→ {short(d['grad'] if d['role'] != 'input' else here)}")
        words = explorer.inner_text("#inspector .words")
        assert "position 1 'a'" in words


def short(x):
    return "0" if x == 0 else f"{x:.4g}"


def test_search_opens_a_scope_and_selects_a_value(explorer):
    goto(explorer)
    explorer.fill("#search", "mlp")
    explorer.press("#search", "Enter")
    opened(explorer, "pos0/layer0/mlp", 2)
    explorer.fill("#search", "L0.h1.w")
    first = explorer.inner_text("#results li:first-child button")
    assert first.startswith("L0.h1.w[t=0] (pos0)")
    explorer.press("#search", "Enter")
    opened(explorer, "pos0/layer0/attn/head1/softmax", 3)
    scope = "pos0/layer0/attn/head1/softmax"
    name = node_names(scope_view(explorer.built["graph"], scope))[
        op_node(explorer.built, scope, "L0.h1.w[t=0]")]
    assert explorer.get_attribute("#inspector", "data-node") == name
    assert "selected" in explorer.locator(f".hit[data-node='{name}']").first.get_attribute("class")


def test_zoom_changes_the_viewbox_and_text_stays_vector(explorer):
    goto(explorer, "pos1/layer0/mlp")
    before = explorer.evaluate("""() => {
        const svg = document.querySelector('#canvas > svg'), t = svg.querySelector('text');
        return [svg.viewBox.baseVal.width, t.getBoundingClientRect().height,
                svg.querySelectorAll('image').length]; }""")
    explorer.locator("#canvas").focus()
    explorer.keyboard.press("+")
    after = explorer.evaluate("""() => {
        const svg = document.querySelector('#canvas > svg'), t = svg.querySelector('text');
        return [svg.viewBox.baseVal.width, t.getBoundingClientRect().height]; }""")
    assert after[0] == pytest.approx(before[0] / 1.25)
    assert after[1] == pytest.approx(before[1] * 1.25, rel=0.02)
    assert before[2] == 0  # no raster anywhere: text is text
    x = explorer.evaluate("document.querySelector('#canvas > svg').viewBox.baseVal.x")
    explorer.keyboard.press("ArrowRight")
    moved = explorer.evaluate("document.querySelector('#canvas > svg').viewBox.baseVal.x")
    assert moved > x
    explorer.mouse.move(600, 400)
    explorer.mouse.wheel(0, 300)
    zoomed_out = explorer.evaluate("document.querySelector('#canvas > svg').viewBox.baseVal.width")
    assert zoomed_out > after[0]
    assert explorer.is_visible("#minimap")
    explorer.click("#fit")
    assert explorer.is_hidden("#minimap")  # all of it on the screen: nothing to find
    here = explorer.evaluate("""() => { const r = document.querySelector('#minimap .here');
        return ['x', 'y', 'width', 'height'].map(k => parseFloat(r.getAttribute(k))); }""")
    box = explorer.evaluate("""() => { const b = document.querySelector('#canvas > svg')
        .viewBox.baseVal; return [b.x, b.y, b.width, b.height]; }""")
    assert here == pytest.approx(box)


def test_the_stepper_in_a_view_is_the_backward_commands(explorer):
    built, scope = explorer.built, "pos1/layer0/mlp"
    goto(explorer, scope)
    _, frames = replay_scope(text=TEXT, scope=scope, checkpoint=built["checkpoint"])
    explorer.click("#step")
    stepper = explorer.frame_locator("#stepper-frame")
    assert stepper.locator("#caption").inner_text() == frames[0].caption
    stepper.locator("#figure").click()
    explorer.keyboard.press("ArrowRight")
    explorer.keyboard.press("ArrowRight")
    assert stepper.locator("#caption").inner_text() == frames[2].caption
    assert stepper.locator("#counter").inner_text() == f"frame 3 / {len(frames)}"
    explorer.keyboard.press("End")
    assert stepper.locator("#caption").inner_text() == frames[-1].caption
    explorer.click("#close-stepper")
    assert explorer.is_hidden("#stepper")


def test_two_explorers_on_one_notebook_page_share_nothing(explorer):
    cell = notebook_html(explorer.built["page"], height=600)
    explorer.set_content(f"<html><body>{cell}{cell}</body></html>")
    first, second = explorer.frames[1], explorer.frames[2]
    for frame in (first, second):
        frame.wait_for_function("window.explorerTimings && window.explorerTimings.length")
    first.evaluate("location.hash = '#pos1/layer0/mlp'")
    first.wait_for_function("document.getElementById('view').dataset.scope === "
                            "'pos1/layer0/mlp'")
    assert second.get_attribute("#view", "data-scope") == ""
    assert second.evaluate("window.explorerTimings.length") == 1
