// A small SVG line chart (no library): time on x, one or more series on y. Colours come from
// CSS classes (series-0, series-1, ...); each series also has its own dash pattern and a text
// legend, so the chart does not depend on colour alone.

const SVG = "http://www.w3.org/2000/svg";

function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v !== undefined && v !== null) el.setAttribute(k, String(v));
  }
  for (const c of children) el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return el;
}

// A round upper bound for the y axis and a number of grid steps that gives round labels.
function niceScale(v) {
  if (!(v > 0)) return { max: 1, steps: 4 };
  const exp = 10 ** Math.floor(Math.log10(v));
  for (const [m, steps] of [[1, 5], [2, 4], [4, 4], [5, 5], [8, 4], [10, 5]]) {
    if (v <= m * exp * (1 + 1e-9)) return { max: m * exp, steps };
  }
  return { max: 10 * exp, steps: 5 };
}

// series: [{label, points: [{t (ms), v (number|null)}]}]
// Returns an <svg class="chart"> element.
export function lineChart({ title, series, format = (v) => String(v), width = 560, height = 180, windowMs }) {
  const pad = { left: 56, right: 12, top: 12, bottom: 28 };
  const innerW = width - pad.left - pad.right;
  const innerH = height - pad.top - pad.bottom;
  const all = series.flatMap((se) => se.points.filter((p) => p.v !== null && Number.isFinite(p.v)));
  const tMax = all.length ? Math.max(...all.map((p) => p.t)) : Date.now();
  const span = windowMs ?? (all.length ? Math.max(1, tMax - Math.min(...all.map((p) => p.t))) : 60000);
  const tMin = tMax - span;
  const { max: yMax, steps } = niceScale(all.length ? Math.max(...all.map((p) => p.v)) : 0);
  const x = (t) => pad.left + ((t - tMin) / span) * innerW;
  const y = (v) => pad.top + innerH - (v / yMax) * innerH;

  const svg = s("svg", {
    class: "chart",
    viewBox: `0 0 ${width} ${height}`,
    role: "img",
    "aria-label": title,
    preserveAspectRatio: "xMidYMid meet",
  });
  svg.append(s("title", {}, title));

  // Grid and y labels
  for (let i = 0; i <= steps; i += 1) {
    const v = (yMax * i) / steps;
    const yy = y(v);
    svg.append(s("line", { class: "grid", x1: pad.left, x2: pad.left + innerW, y1: yy, y2: yy }));
    svg.append(s("text", { class: "axis-label", x: pad.left - 6, y: yy + 4, "text-anchor": "end" }, format(v)));
  }
  svg.append(s("line", { class: "axis", x1: pad.left, x2: pad.left, y1: pad.top, y2: pad.top + innerH }));
  svg.append(s("line", { class: "axis", x1: pad.left, x2: pad.left + innerW, y1: pad.top + innerH, y2: pad.top + innerH }));
  const minutes = span / 60000;
  const spanLabel = minutes >= 1 ? `${minutes.toFixed(minutes >= 10 ? 0 : 1)} min ago` : `${Math.round(span / 1000)} s ago`;
  svg.append(s("text", { class: "axis-label", x: pad.left, y: height - 8, "text-anchor": "start" }, spanLabel));
  svg.append(s("text", { class: "axis-label", x: pad.left + innerW, y: height - 8, "text-anchor": "end" }, "now"));

  if (!all.length) {
    svg.append(s("text", { class: "empty-label", x: pad.left + innerW / 2, y: pad.top + innerH / 2, "text-anchor": "middle" },
      "waiting for data…"));
  }

  series.forEach((se, index) => {
    // Split into runs of consecutive defined points (a gap while the page was hidden).
    const runs = [];
    let run = [];
    for (const p of se.points) {
      if (p.v === null || !Number.isFinite(p.v) || p.gap) {
        if (run.length) runs.push(run);
        run = [];
        if (p.v === null || !Number.isFinite(p.v)) continue;
      }
      run.push(p);
    }
    if (run.length) runs.push(run);
    for (const r of runs) {
      if (r.length === 1) {
        svg.append(s("circle", { class: `point series-${index}`, cx: x(r[0].t), cy: y(r[0].v), r: 2.5 }));
      } else {
        svg.append(s("polyline", {
          class: `line series-${index}`,
          fill: "none",
          points: r.map((p) => `${x(p.t).toFixed(1)},${y(p.v).toFixed(1)}`).join(" "),
        }));
      }
    }
  });
  return svg;
}
