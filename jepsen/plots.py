"""Inline SVG plots for the report (plain stdlib): latency over time and throughput over time, with
the fault windows shaded and labelled.

Kept small for 10^6-op histories: completions are bucketed in time (100 ms, or wider so that a plot
has at most ``MAX_BUCKETS`` columns), a bucket is drawn as its maximum and its median latency, and
each series is a single ``<path>`` whose zero-length segments render as dots.
"""

import math
from html import escape

COLOURS = {"ok": "#1b9e3a", "info": "#e08a00", "fail": "#d62728"}
FAULT_FILLS = ("#4e79a7", "#b07aa1", "#76b7b2", "#edc948", "#9c755f", "#f28e2b", "#59a14f", "#e15759")
MAX_BUCKETS = 1200
W, H = 960, 300
LEFT, RIGHT, TOP, BOTTOM = 64, 16, 22, 38


def latencies(ops):
    """``[(completion time, latency ms, f, type)]`` of every send and poll completion, pairing each
    completion with its process's invoke."""
    pending = {}
    out = []
    for op in ops:
        f = op.get("f")
        if f not in ("send", "poll") or op.get("process") == "nemesis":
            continue
        p = op.get("process")
        t = op.get("time")
        if op.get("type") == "invoke":
            pending[p] = t
        else:
            t0 = pending.pop(p, None)
            if t0 is not None and t is not None:
                out.append((t, max((t - t0) * 1000.0, 0.0), f, op.get("type")))
    return out


def bucket_width(duration, smallest):
    """A bucket width of at least ``smallest`` seconds giving at most ``MAX_BUCKETS`` buckets."""
    return max(smallest, duration / MAX_BUCKETS)


def _nice_step(span, target=8):
    raw = span / max(target, 1)
    if raw <= 0:
        return 1.0
    mag = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 5, 10):
        if raw <= m * mag:
            return m * mag
    return 10 * mag


def _fmt(x):
    return ("%.1f" % x).rstrip("0").rstrip(".")


class Frame:
    """A plot area: maps data to pixels, draws axes, grid and the fault windows."""

    def __init__(self, x_max, y_min, y_max, log_y, title, y_label):
        self.x_max = max(x_max, 1e-9)
        self.y_min, self.y_max, self.log_y = y_min, y_max, log_y
        self.title, self.y_label = title, y_label
        self.parts = []

    def x(self, t):
        """Pixel x of time t."""
        return LEFT + (W - LEFT - RIGHT) * t / self.x_max

    def y(self, v):
        """Pixel y of value v (clamped to the plot area)."""
        if self.log_y:
            v = max(v, self.y_min)
            f = (math.log10(v) - math.log10(self.y_min)) / (math.log10(self.y_max) - math.log10(self.y_min))
        else:
            f = (v - self.y_min) / ((self.y_max - self.y_min) or 1.0)
        f = min(max(f, 0.0), 1.0)
        return TOP + (H - TOP - BOTTOM) * (1.0 - f)

    def axes(self):
        """Axes, ticks, grid lines and labels."""
        p = self.parts
        bottom, right = H - BOTTOM, W - RIGHT
        p.append('<text x="%d" y="14" class="title">%s</text>' % (LEFT, escape(self.title)))
        step = _nice_step(self.x_max)
        t = 0.0
        while t <= self.x_max + 1e-9:
            px = self.x(t)
            p.append('<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" class="grid"/>' % (px, TOP, px, bottom))
            p.append('<text x="%.1f" y="%d" text-anchor="middle">%s</text>' % (px, bottom + 14, _fmt(t)))
            t += step
        p.append('<text x="%d" y="%d" text-anchor="middle">time (s)</text>' % ((LEFT + right) // 2, H - 4))
        if self.log_y:
            ticks = [10 ** e for e in range(int(round(math.log10(self.y_min))), int(round(math.log10(self.y_max))) + 1)]
        else:
            s = _nice_step(self.y_max - self.y_min, 5)
            ticks = [self.y_min + s * n for n in range(int((self.y_max - self.y_min) / s) + 1)]
        for v in ticks:
            py = self.y(v)
            p.append('<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" class="grid"/>' % (LEFT, py, right, py))
            p.append('<text x="%d" y="%.1f" text-anchor="end">%s</text>' % (LEFT - 4, py + 4, _fmt(v) if v >= 0.1 else "%g" % v))
        p.append('<text transform="translate(12 %d) rotate(-90)" text-anchor="middle">%s</text>'
                 % ((TOP + bottom) // 2, escape(self.y_label)))
        p.append('<rect x="%d" y="%d" width="%d" height="%d" class="frame"/>' % (LEFT, TOP, right - LEFT, bottom - TOP))

    def windows(self, windows, end):
        """Shade each fault window and label it with its fault (full detail on hover)."""
        fills = {}
        for n, w in enumerate(windows):
            fill = fills.setdefault(w["fault"], FAULT_FILLS[len(fills) % len(FAULT_FILLS)])
            x0 = self.x(w["start"])
            x1 = self.x(w["stop"] if w["stop"] is not None else end)
            tip = "%s %s: %s to %s s%s" % (w["fault"], w.get("targets") or "", _fmt(w["start"]),
                                           _fmt(w["stop"]) if w["stop"] is not None else "end",
                                           (" - " + w["detail"]) if w.get("detail") else "")
            self.parts.append('<g><title>%s</title><rect x="%.1f" y="%d" width="%.1f" height="%d" fill="%s" '
                              'fill-opacity="0.16"/><text x="%.1f" y="%d" class="wlabel" fill="%s">%s</text></g>'
                              % (escape(tip), x0, TOP, max(x1 - x0, 1.0), H - TOP - BOTTOM, fill, x0 + 2,
                                 TOP + 10 + 10 * (n % 3), fill, escape(str(w["fault"]))))

    def dots(self, points, colour, size, opacity, square=False, label=None):
        """One path of dots (zero-length segments with a round or square cap)."""
        if not points:
            return
        d = "".join("M%.1f %.1fh0" % (self.x(t), self.y(v)) for t, v in points)
        self.parts.append('<path d="%s" stroke="%s" stroke-width="%.1f" stroke-opacity="%.2f" stroke-linecap="%s"%s>%s</path>'
                          % (d, colour, size, opacity, "square" if square else "round", "",
                             "<title>%s</title>" % escape(label) if label else ""))

    def line(self, points, colour, dashed=False, label=None):
        """One polyline."""
        if not points:
            return
        pts = " ".join("%.1f,%.1f" % (self.x(t), self.y(v)) for t, v in points)
        self.parts.append('<polyline points="%s" fill="none" stroke="%s" stroke-width="1.3"%s>%s</polyline>'
                          % (pts, colour, ' stroke-dasharray="4 3"' if dashed else "",
                             "<title>%s</title>" % escape(label) if label else ""))

    def legend(self, entries):
        """Legend entries ``(text, colour, dashed)`` along the top right."""
        x = W - RIGHT - 10
        for text, colour, dashed in reversed(entries):
            width = 7 * len(text) + 26
            x -= width
            self.parts.append('<line x1="%d" y1="10" x2="%d" y2="10" stroke="%s" stroke-width="3"%s/>'
                              '<text x="%d" y="14">%s</text>' % (x, x + 16, colour,
                                                                 ' stroke-dasharray="4 3"' if dashed else "",
                                                                 x + 20, escape(text)))

    def svg(self):
        """The finished ``<svg>`` element."""
        return ('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" width="%d" height="%d">%s</svg>'
                % (W, H, W, H, "".join(self.parts)))


def latency_plot(ops, windows, end):
    """SVG: latency (ms, log scale) of send and poll completions over time, bucketed; per bucket and
    kind the maximum (large dot) and median (small dot); sends round, polls square."""
    lat = latencies(ops)
    width = bucket_width(end, 0.1)
    buckets = {}
    for t, ms, f, typ in lat:
        buckets.setdefault((f, typ, int(t / width)), []).append(ms)
    values = [ms for _, ms, _, _ in lat if ms > 0]
    lo = 10 ** math.floor(math.log10(min(values))) if values else 0.1
    hi = 10 ** math.ceil(math.log10(max(values))) if values else 1000.0
    lo = max(lo, 0.01)
    if hi <= lo:
        hi = lo * 10
    fr = Frame(end, lo, hi, True, "latency of send (round) and poll (square) completions: max and median per %s s"
               % _fmt(width), "latency (ms, log)")
    fr.windows(windows, end)
    fr.axes()
    for f in ("poll", "send"):
        for typ in ("ok", "info", "fail"):
            maxes, medians = [], []
            for (bf, bt, b), ms in buckets.items():
                if bf != f or bt != typ:
                    continue
                ms.sort()
                t = (b + 0.5) * width
                maxes.append((t, ms[-1]))
                if len(ms) > 1:
                    medians.append((t, ms[len(ms) // 2]))
            label = "%s %s" % (f, typ)
            fr.dots(maxes, COLOURS.get(typ, "#555"), 4.0, 0.75, square=(f == "poll"), label=label + " max")
            fr.dots(medians, COLOURS.get(typ, "#555"), 2.2, 0.5, square=(f == "poll"), label=label + " median")
    fr.legend([("ok", COLOURS["ok"], False), ("info", COLOURS["info"], False), ("fail", COLOURS["fail"], False)])
    return fr.svg()


def throughput_plot(ops, windows, end):
    """SVG: completions per second over time, per type; sends solid, polls dashed."""
    width = bucket_width(end, 1.0)
    n = int(end / width) + 1
    series = {}
    for op in ops:
        f = op.get("f")
        typ = op.get("type")
        if f not in ("send", "poll") or typ == "invoke" or op.get("process") == "nemesis":
            continue
        counts = series.get((f, typ))
        if counts is None:
            counts = series[(f, typ)] = [0] * n
        b = min(int(op.get("time", 0.0) / width), n - 1)
        counts[b] += 1
    last = end - (n - 1) * width  # the last bucket is cut short by the end of the run
    lines = {}
    for key, counts in series.items():
        pts = [((b + 0.5) * width, c / width) for b, c in enumerate(counts[:-1])]
        if last >= width / 2:
            pts.append(((n - 1) * width + last / 2, counts[-1] / last))
        lines[key] = pts
    top = max([1.0] + [v for pts in lines.values() for _, v in pts])
    step = _nice_step(top, 5)
    fr = Frame(end, 0.0, math.ceil(top / step) * step, False,
               "completions per second (per %s s): sends solid, polls dashed" % _fmt(width), "ops/s")
    fr.windows(windows, end)
    fr.axes()
    for (f, typ), pts in sorted(lines.items()):
        fr.line(pts, COLOURS.get(typ, "#555"), dashed=(f == "poll"), label="%s %s" % (f, typ))
    fr.legend([("ok", COLOURS["ok"], False), ("info", COLOURS["info"], False),
               ("fail", COLOURS["fail"], False), ("polls", "#777", True)])
    return fr.svg()


def unseen_plot(unseen, windows, end):
    """SVG: acknowledged values that no ok poll had returned yet, over time (consumer lag, and the
    final read catching up: whatever is left at the end is ``unseen``)."""
    counts = unseen["counts"]
    width = unseen["width"]
    top = max(1, max(counts, default=0))
    step = _nice_step(top, 5)
    fr = Frame(end, 0.0, math.ceil(top / step) * step, False,
               "acknowledged values not yet returned by any ok poll (sampled every %s s)" % _fmt(width), "values")
    fr.windows(windows, end)
    fr.axes()
    fr.line([(min((b + 1) * width, end), c) for b, c in enumerate(counts)], "#4e79a7", label="unseen")
    return fr.svg()
