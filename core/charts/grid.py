"""Plotly figures for grid switching: the network with what changed, the voltage profile, the losses."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import plotly.graph_objects as go

from core.charts.layout import shared_layout

CLOSED_COLOUR = "#5f7186"  # a mid slate: reads on the light and the dark background
OPEN_COLOUR = "#b0b7bf"
CLOSED_NOW_COLOUR = "#2ca02c"  # closed by the answer
OPENED_NOW_COLOUR = "#d62728"  # opened by the answer
BEFORE_COLOUR = "#ff7f0e"
AFTER_COLOUR = "#1f77b4"
LIMIT_COLOUR = "#7f7f7f"


def _lines(result: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [ln for ln in result.get("lines", []) if isinstance(ln, Mapping)]


def _bus_ids(result: Mapping[str, Any]) -> list[str]:
    buses = [str(b["id"]) for b in result.get("buses", []) if isinstance(b, Mapping) and "id" in b]
    if buses:
        return buses
    return list((result.get("bus_voltage_pu") or {}).get("after", {}).keys())


def tree_layout(result: Mapping[str, Any]) -> dict[str, tuple[float, float]]:
    """Bus positions: distance from the substation (in lines) to the right, one row per lateral.

    The tree drawn is the present configuration when it is radial (so the feeder looks as operators know it
    and the ties cross between laterals), else the answer's. Children are visited largest subtree first and
    a bus sits on its first child's row, so main feeders come out as straight lines.
    """
    buses = _bus_ids(result)
    slack = str(result.get("slack_bus") or (buses[0] if buses else ""))
    use_before = bool(result.get("radial_before", False))
    adj: dict[str, list[str]] = {b: [] for b in buses}
    for ln in _lines(result):
        if ln.get("closed_before" if use_before else "closed_after"):
            a, b = str(ln["from_bus"]), str(ln["to_bus"])
            if a in adj and b in adj:
                adj[a].append(b)
                adj[b].append(a)
    children: dict[str, list[str]] = {b: [] for b in buses}
    depth = {slack: 0}
    order = [slack] if slack in adj else []
    for u in order:
        for v in adj[u]:
            if v not in depth:
                depth[v] = depth[u] + 1
                children[u].append(v)
                order.append(v)
    size = {b: 1 for b in order}
    for u in reversed(order):
        for c in children[u]:
            size[u] += size[c]
    pos: dict[str, tuple[float, float]] = {}
    next_row = [0.0]

    def place(root: str) -> None:
        stack: list[tuple[str, bool]] = [(root, False)]
        while stack:  # iterative DFS: deep feeders must not hit the recursion limit
            u, done = stack.pop()
            kids = sorted(children[u], key=lambda c: -size[c])
            if done or not kids:
                if kids:
                    pos[u] = (float(depth[u]), pos[kids[0]][1])
                else:
                    pos[u] = (float(depth[u]), next_row[0])
                    next_row[0] += 1.0
                continue
            stack.append((u, True))
            for c in reversed(kids):
                stack.append((c, False))

    if order:
        place(slack)
    for b in buses:  # not reached (an islanded present state with a non-radial fallback): park them below
        if b not in pos:
            pos[b] = (0.0, next_row[0])
            next_row[0] += 1.0
    return {b: (x, -y) for b, (x, y) in pos.items()}


def _fmt(value: Any, unit: str, digits: int = 1) -> str:
    return f"{float(value):,.{digits}f} {unit}" if isinstance(value, (int, float)) else "–"


def _layout_edges(result: Mapping[str, Any], pos: Mapping[str, tuple[float, float]]) -> set[str]:
    """Ids of the lines drawn straight: the tree the layout was built from (parent → child)."""
    use_before = bool(result.get("radial_before", False))
    tree: set[str] = set()
    for ln in _lines(result):
        a, b = str(ln.get("from_bus")), str(ln.get("to_bus"))
        if ln.get("closed_before" if use_before else "closed_after") and a in pos and b in pos \
                and abs(pos[a][0] - pos[b][0]) == 1.0:
            tree.add(str(ln.get("id")))
    return tree


# Pixels per layout unit, for the clearance tests below (the figure is ~1400 × 560 on a desktop).
def pixels_per_unit(pos: Mapping[str, tuple[float, float]], height: int) -> tuple[float, float]:
    xs = [p[0] for p in pos.values()] or [0.0]
    ys = [p[1] for p in pos.values()] or [0.0]
    return 1300.0 / max(1.0, max(xs) - min(xs)), (height - 80.0) / max(1.0, max(ys) - min(ys))


def _bezier(p0: tuple[float, float], control: tuple[float, float], p2: tuple[float, float],
            n: int = 24) -> list[tuple[float, float]]:
    return [((1 - t) ** 2 * p0[0] + 2 * (1 - t) * t * control[0] + t * t * p2[0],
             (1 - t) ** 2 * p0[1] + 2 * (1 - t) * t * control[1] + t * t * p2[1])
            for t in (i / n for i in range(n + 1))]


def _tie_route(p0: tuple[float, float], p2: tuple[float, float], obstacles: list[tuple[float, float]],
               sx: float, sy: float) -> list[tuple[float, float]]:
    """A curve for a line outside the drawn tree: bowed off the straight chord (which would lie on the feeder
    it parallels, or cut across other branches) to the side with the most room, measured in pixels."""
    mx, my = (p0[0] + p2[0]) / 2, (p0[1] + p2[1]) / 2
    dx, dy = (p2[0] - p0[0]) * sx, (p2[1] - p0[1]) * sy
    length = max(1e-9, (dx * dx + dy * dy) ** 0.5)
    nx, ny = -dy / length, dx / length  # unit normal, pixels
    best: tuple[float, list[tuple[float, float]]] | None = None
    for bow_px in (45.0, 80.0, 120.0):
        for sign in (1.0, -1.0):
            control = (mx + sign * nx * bow_px * 2 / sx, my + sign * ny * bow_px * 2 / sy)
            path = _bezier(p0, control, p2)
            inner = path[3:-3]
            clearance = min((min(((x - ox) * sx) ** 2 + ((y - oy) * sy) ** 2 for x, y in inner)
                             for ox, oy in obstacles), default=1e12) ** 0.5
            score = clearance - 0.05 * bow_px
            if best is None or score > best[0]:
                best = (score, path)
    return best[1] if best else [p0, p2]


def _label_positions(pos: Mapping[str, tuple[float, float]], segments: list[tuple[float, float]],
                     sx: float, sy: float) -> dict[str, str]:
    """Per bus the label position (above, below, left, right) farthest from lines and other buses."""
    offsets = {"top center": (0, 13), "bottom center": (0, -13), "top right": (12, 11), "top left": (-12, 11),
               "bottom right": (12, -11), "bottom left": (-12, -11)}
    points = [(x * sx, y * sy) for x, y in segments]
    chosen: dict[str, str] = {}
    for bus, (bx, by) in pos.items():
        px, py = bx * sx, by * sy
        near = [(x, y) for x, y in points if abs(x - px) < 60 and abs(y - py) < 60]
        best_name, best_gap = "top center", -1.0
        for name, (ox, oy) in offsets.items():
            lx, ly = px + ox, py + oy
            gap = min(((x - lx) ** 2 + (y - ly) ** 2 for x, y in near), default=1e12) ** 0.5
            if gap > best_gap + 2.0:  # prefer the earlier (conventional) position unless clearly better
                best_name, best_gap = name, gap
        chosen[bus] = best_name
    return chosen


def densify(p0: tuple[float, float], p1: tuple[float, float], sx: float, sy: float) -> list[tuple[float, float]]:
    """Points along the straight segment p0-p1 about 6 px apart (sx, sy: pixels per unit), ends included."""
    steps = max(1, int((((p1[0] - p0[0]) * sx) ** 2 + ((p1[1] - p0[1]) * sy) ** 2) ** 0.5 / 6))
    return [(p0[0] + (p1[0] - p0[0]) * i / steps, p0[1] + (p1[1] - p0[1]) * i / steps) for i in range(steps + 1)]


def _tree_path(p0: tuple[float, float], p1: tuple[float, float]) -> list[tuple[float, float]]:
    """A line of the drawn tree: straight along a row, else an elbow down the parent's column and along the
    child's row. Laterals leaving one bus then share one drop, as on a single-line diagram, instead of
    fanning out in near-parallel diagonals that cover each other and the labels beside them (IEEE 69)."""
    if p0[1] == p1[1]:
        return [p0, p1]
    parent, child = (p0, p1) if p0[0] < p1[0] else (p1, p0)
    path = [parent, (parent[0], child[1]), child]
    return path if parent is p0 else path[::-1]


def _label_point(path: list[tuple[float, float]]) -> tuple[float, float]:
    """Where a line's id goes: the middle of its row segment for an elbow (the drop may be shared), of the
    curve for a tie, of the line otherwise."""
    if len(path) == 3:
        (ax, ay), (bx, by) = (path[1], path[2]) if path[1][1] == path[2][1] else (path[0], path[1])
        return (ax + bx) / 2, (ay + by) / 2
    if len(path) > 3:
        return path[len(path) // 2]
    return (path[0][0] + path[1][0]) / 2, (path[0][1] + path[1][1]) / 2


# Line loading bands of the day view's diagram (% of the line's rating), each drawn in its colour.
LOADING_BANDS: tuple[tuple[str, float, str, float], ...] = (
    ("Loading ≤ 50 %", 50.0, "#3b7dd8", 2), ("Loading 50–80 %", 80.0, "#e0a526", 3),
    ("Loading 80–100 %", 100.0, "#e8590c", 3.5), ("Overloaded > 100 %", float("inf"), "#a50f15", 5))
UNRATED_COLOUR = "#9aa1a9"
PV_COLOUR = "#f2b705"


def loading_group(pct: float | None) -> str:
    """The diagram's group of a closed line by its loading: a band's name, or "unrated"."""
    if pct is None:
        return "unrated"
    return next(name for name, upper, _, _ in LOADING_BANDS if pct <= upper)


@dataclass(frozen=True)
class NetworkView:
    """How a diagram words its states and what it adds: the snapshot's answer, or a day plan at one step."""
    changed_by: str = "the answer"             # "Closed by the answer"
    voltage_label: str = "V after"
    loading_pct: Mapping[str, float] | None = None   # closed rated lines' loading: lines coloured by band
    pv_hover: Mapping[str, str] | None = None  # PV buses -> their hover text: marked with a sun


def network_figure(request_fields: Mapping[str, Any], result: Mapping[str, Any], *, height: int = 560,
                   view: NetworkView = NetworkView()) -> go.Figure:
    """Buses coloured by voltage after switching; open lines dashed; lines the answer switches highlighted.

    The tree the layout comes from is drawn straight (laterals as elbows); every other line (ties, and in the
    answer's state the lines it opened) is a curve bowed to the side with room, so a newly closed tie never
    hides the feeder it parallels. Line ids are written on every switchable or switched line.
    With `view.loading_pct` closed lines are coloured by their loading band (unrated ones grey) instead of by
    whether the answer closed them; with `view.pv_hover` PV buses carry a sun.
    """
    pos = tree_layout(result)
    sx, sy = pixels_per_unit(pos, height)
    straight = _layout_edges(result, pos)
    groups: dict[str, tuple[str, str, str, float]] = {
        "closed": ("Closed", CLOSED_COLOUR, "solid", 2),
        "open": ("Open", OPEN_COLOUR, "dash", 1.5),
        "closed_now": (f"Closed by {view.changed_by}", CLOSED_NOW_COLOUR, "solid", 4),
        "opened_now": (f"Opened by {view.changed_by}", OPENED_NOW_COLOUR, "dash", 3),
    }
    loading = view.loading_pct
    if loading is not None:
        groups.update({name: (name, colour, "solid", width) for name, _, colour, width in LOADING_BANDS})
        groups["unrated"] = ("No rating", UNRATED_COLOUR, "solid", 2)
    xs: dict[str, list[float | None]] = {g: [] for g in groups}
    ys: dict[str, list[float | None]] = {g: [] for g in groups}
    mid_x, mid_y, mid_text, mid_colour, mid_label = [], [], [], [], []
    obstacles = list(pos.values())
    drawn: list[tuple[float, float]] = []
    lines = _lines(result)
    for ln in lines:
        a, b = str(ln.get("from_bus")), str(ln.get("to_bus"))
        if a in pos and b in pos and str(ln.get("id")) in straight:
            path = _tree_path(pos[a], pos[b])
            for p0, p1 in zip(path, path[1:]):
                drawn += densify(p0, p1, sx, sy)
    for ln in sorted(lines, key=lambda ln: str(ln.get("id")) not in straight):  # straight first: curves avoid them
        a, b = str(ln.get("from_bus")), str(ln.get("to_bus"))
        if a not in pos or b not in pos:
            continue
        before, after = bool(ln.get("closed_before")), bool(ln.get("closed_after"))
        group = ("closed_now" if after and not before else "opened_now" if before and not after
                 else "closed" if after else "open")
        state = {"closed_now": f"closed by {view.changed_by}", "opened_now": f"opened by {view.changed_by}",
                 "closed": "closed", "open": "open"}[group]
        pct = loading.get(str(ln.get("id"))) if loading is not None else None
        if loading is not None and after:
            group = loading_group(pct)
        if str(ln.get("id")) in straight:
            path = _tree_path(pos[a], pos[b])
        else:
            path = _tie_route(pos[a], pos[b], obstacles + drawn, sx, sy)
            drawn += path
        xs[group] += [p[0] for p in path] + [None]
        ys[group] += [p[1] for p in path] + [None]
        middle = _label_point(path)
        mid_x.append(middle[0])
        mid_y.append(middle[1])
        mid_colour.append(groups[group][1])
        show_id = before != after or (bool(ln.get("switchable", True)) and not (before and after))
        mid_label.append(str(ln.get("id")) if show_id or len(lines) <= 40 else "")
        flow = (f"<br>P {_fmt(ln.get('p_kw_after'), 'kW')}, Q {_fmt(ln.get('q_kvar_after'), 'kvar')}"
                f"<br>S {_fmt(ln.get('s_kva_after'), 'kVA')}, I {_fmt(ln.get('current_a_after'), 'A')}"
                f"<br>loss {_fmt(ln.get('loss_kw_after'), 'kW', 2)}") if after and loading is None else ""
        if loading is not None and after:
            flow = f"<br>loading {_fmt(pct, '% of rating')}" if pct is not None else "<br>no rating"
        fixed = "" if ln.get("switchable", True) else " (not switchable)"
        mid_text.append(f"<b>line {ln.get('id')}</b> {a} → {b}{fixed}<br>{state}{flow}")
    fig = go.Figure()
    for group, (label, colour, dash, width) in groups.items():
        if xs[group]:
            fig.add_trace(go.Scatter(x=xs[group], y=ys[group], mode="lines", name=label, hoverinfo="skip",
                                     line={"color": colour, "dash": dash, "width": width}))
    fig.add_trace(go.Scatter(x=mid_x, y=mid_y, mode="markers+text", name="Line ids", showlegend=False,
                             marker={"size": 6, "color": mid_colour, "opacity": 0.5, "symbol": "diamond"},
                             text=[f"<i>{t}</i>" if t else "" for t in mid_label], textposition="bottom center",
                             textfont={"size": 9, "color": mid_colour},
                             hovertext=mid_text, hoverinfo="text"))
    volts = result.get("bus_voltage_pu") or {}
    v_after, v_before = volts.get("after", {}) or {}, volts.get("before", {}) or {}
    loads = {str(b.get("id")): b for b in result.get("buses", []) if isinstance(b, Mapping)}
    vmin = float(result.get("voltage_min_pu", request_fields.get("VoltageMin", 0.9)) or 0.9)
    buses = list(pos)
    colours = [v_after.get(b) if isinstance(v_after.get(b), (int, float)) else None for b in buses]
    slack = str(result.get("slack_bus", ""))
    text = []
    pv = view.pv_hover or {}
    for b in buses:
        load = loads.get(b, {})
        before_text = f"<br>V before {_fmt(v_before.get(b), 'pu', 4)}" if v_before else ""
        text.append(f"<b>bus {b}</b>{' (substation)' if b == slack else ''}"
                    f"<br>{view.voltage_label} {_fmt(v_after.get(b), 'pu', 4)}{before_text}"
                    f"<br>load {_fmt(load.get('p_kw'), 'kW')} / {_fmt(load.get('q_kvar'), 'kvar')}"
                    + (f"<br>{pv[b]}" if b in pv else ""))
    labelled = len(buses) <= 80
    # Line-id labels are obstacles for bus labels too.
    places = _label_positions(pos, drawn + list(zip(mid_x, mid_y)), sx, sy) if labelled else {}
    fig.add_trace(go.Scatter(
        x=[pos[b][0] for b in buses], y=[pos[b][1] for b in buses], mode="markers+text" if labelled else
        "markers", name="Buses", showlegend=False, text=buses if labelled else None,
        textposition=[places.get(b, "top center") for b in buses] if labelled else None,
        textfont={"size": 10}, hovertext=text, hoverinfo="text",  # the theme's text colour: legible when dark
        marker={"size": [14 if b == slack else 9 for b in buses],
                "symbol": ["square" if b == slack else "circle" for b in buses],
                "color": colours, "colorscale": "RdYlGn", "cmin": min(vmin, 0.9), "cmax": 1.0,
                "line": {"color": "#333", "width": 0.5},
                # Horizontal, under the diagram: at a phone's width a side colour bar takes a fifth of it.
                "colorbar": {"title": {"text": f"{view.voltage_label} (pu)", "side": "top"}, "thickness": 10,
                             "orientation": "h", "x": 1.0, "xanchor": "right", "len": 0.4,
                             # Above the diagram when the legend has the loading bands: it wraps into the bar.
                             **({"y": 1.0, "yanchor": "bottom"} if loading is not None else
                                {"y": -0.14, "yanchor": "top"})}}))
    if pv:
        suns = [b for b in buses if b in pv]
        fig.add_trace(go.Scatter(x=[pos[b][0] for b in suns], y=[pos[b][1] for b in suns], mode="markers",
                                 name="PV bus (rooftop PV)", hovertext=[text[buses.index(b)] for b in suns],
                                 hoverinfo="text", marker={"symbol": "star-open", "size": 14, "color": PV_COLOUR,
                                                           "line": {"width": 2, "color": PV_COLOUR}}))
    fig.update_layout(height=height, hovermode="closest",
                      legend={"orientation": "h", "y": -0.02, "yanchor": "top", "x": 0},
                      # No background of its own: the app theme's, so the dark theme has no white box.
                      margin={"t": 80 if loading is not None else 30, "l": 10, "r": 10,
                              "b": 80 if loading is not None else 120},
                      xaxis={"visible": False}, yaxis={"visible": False})
    return fig


def voltage_profile_figure(request_fields: Mapping[str, Any], result: Mapping[str, Any]) -> go.Figure:
    """|V| per bus before and after, with the requested limits."""
    volts = result.get("bus_voltage_pu") or {}
    buses = _bus_ids(result)
    fig = go.Figure()
    for key, label, colour in (("before", "Before", BEFORE_COLOUR), ("after", "After", AFTER_COLOUR)):
        values = volts.get(key) or {}
        fig.add_trace(go.Scatter(x=buses, y=[values.get(b) for b in buses], name=label, mode="lines+markers",
                                 line={"color": colour, "width": 2}, marker={"size": 5},
                                 hovertemplate="bus %{x}<br>%{y:.4f} pu<extra>" + label + "</extra>"))
    for key, field, label in (("voltage_min_pu", "VoltageMin", "min"), ("voltage_max_pu", "VoltageMax", "max")):
        level = result.get(key, request_fields.get(field))
        if isinstance(level, (int, float)) and buses:
            fig.add_trace(go.Scatter(x=[buses[0], buses[-1]], y=[level, level], mode="lines",
                                     name=f"Limit {label} ({level:g} pu)", hoverinfo="skip",
                                     line={"color": LIMIT_COLOUR, "dash": "dash", "width": 1}))
    return shared_layout(fig, height=360, xaxis={"title": "bus", "type": "category"}, yaxis={"title": "|V| (pu)"},
                         margin={"t": 30, "l": 60, "r": 20, "b": 20}, hovermode="x unified")


def losses_figure(request_fields: Mapping[str, Any], result: Mapping[str, Any]) -> go.Figure:
    """Real-power losses before and after switching."""
    values = [result.get("losses_kw_before"), result.get("losses_kw_after")]
    names = ["Before", "After"]
    shown = [(n, float(v)) for n, v in zip(names, values) if isinstance(v, (int, float))]
    fig = go.Figure(go.Bar(
        x=[n for n, _ in shown], y=[v for _, v in shown],
        marker_color=[BEFORE_COLOUR if n == "Before" else AFTER_COLOUR for n, _ in shown],
        text=[f"{v:,.2f} kW" for _, v in shown], textposition="outside", cliponaxis=False,
        hovertemplate="%{x}: %{y:,.3f} kW<extra></extra>"))
    pct = result.get("loss_reduction_pct")
    title = f"Losses: {pct:.1f}% lower" if isinstance(pct, (int, float)) and pct > 0 else "Losses"
    return shared_layout(fig, title=title, legend=False, height=360, yaxis={"title": "kW", "rangemode": "tozero"},
                         margin={"t": 20, "l": 60, "r": 20, "b": 40})
