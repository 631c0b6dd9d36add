// A small SVG line chart for the TinkerFlow dashboard: one metric, one line per run, x = step.
// No dependencies. Usage:
//   const chart = new LineChart("train_mean_nll");
//   parent.append(chart.element);
//   chart.setSeries([{ id: "run-1", label: "run-1", color: "#1f77b4", points: [[0, 3.1], [1, 2.9]] }]);
//   chart.setSmoothing(0.6);   // optional EMA, drawn over the faint raw line

"use strict";

const SVG_NS = "http://www.w3.org/2000/svg";
const MARGIN = { left: 56, right: 14, top: 10, bottom: 26 };
const HEIGHT = 200;

function svg(name, attributes = {}) {
  const node = document.createElementNS(SVG_NS, name);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, String(value));
  return node;
}

/** Round tick positions (1, 2 or 5 times a power of ten) covering [min, max]. */
function niceTicks(min, max, count) {
  if (!(max > min)) return [min];
  const rough = (max - min) / Math.max(1, count);
  const power = Math.pow(10, Math.floor(Math.log10(rough)));
  const step = [1, 2, 5, 10].map(m => m * power).find(s => s >= rough) ?? 10 * power;
  const ticks = [];
  for (let t = Math.ceil(min / step) * step; t <= max + step * 1e-9; t += step) ticks.push(Math.abs(t) < step * 1e-9 ? 0 : t);
  return ticks;
}

/** Short text for a number: 3 significant digits, k/M suffixes, scientific for tiny values. */
function formatNumber(value) {
  if (value === null || value === undefined || !Number.isFinite(value)) return "–";
  const abs = Math.abs(value);
  if (abs !== 0 && abs < 1e-3) return value.toExponential(2);
  if (abs >= 1e6) return (value / 1e6).toPrecision(3) + "M";
  if (abs >= 1e4) return (value / 1e3).toPrecision(3) + "k";
  return Number(value.toPrecision(4)).toString();
}

/** Exponential moving average with bias correction (the TensorBoard / W&B "smoothing" slider). */
function smooth(points, weight) {
  if (!(weight > 0)) return points;
  let last = 0;
  return points.map(([x, y], i) => {
    last = last * weight + (1 - weight) * y;
    return [x, last / (1 - Math.pow(weight, i + 1))];
  });
}

/** At most ~2 points per pixel column: keeps each bucket's first, min and max so spikes survive. */
function decimate(points, columns) {
  if (points.length <= columns * 2) return points;
  const size = points.length / columns;
  const kept = [];
  for (let b = 0; b < columns; b++) {
    const bucket = points.slice(Math.floor(b * size), Math.floor((b + 1) * size));
    if (bucket.length === 0) continue;
    let low = bucket[0], high = bucket[0];
    for (const p of bucket) { if (p[1] < low[1]) low = p; if (p[1] > high[1]) high = p; }
    const picked = [bucket[0], low, high].filter((p, i, all) => all.indexOf(p) === i).sort((a, b) => a[0] - b[0]);
    kept.push(...picked);
  }
  kept.push(points[points.length - 1]);
  return kept;
}

/** Index of the point whose x is nearest to x (points sorted by x). */
function nearestIndex(points, x) {
  let lo = 0, hi = points.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (points[mid][0] < x) lo = mid + 1; else hi = mid;
  }
  if (lo > 0 && Math.abs(points[lo - 1][0] - x) <= Math.abs(points[lo][0] - x)) return lo - 1;
  return lo;
}

class LineChart {
  /** metric: the name shown and put in data-metric; tag: a small label before it (e.g. the chart's section). */
  constructor(metric, tag = "") {
    this.metric = metric;
    this.series = [];
    this.smoothing = 0;
    this.element = document.createElement("figure");
    this.element.className = "chart";
    this.element.dataset.metric = metric;
    this.element.dataset.points = "0";
    const caption = document.createElement("figcaption");
    this.titleElement = document.createElement("span");
    this.titleElement.className = "chart-title";
    this.titleElement.textContent = metric;
    if (tag) {
      const label = document.createElement("span");
      label.className = "chart-tag";
      label.textContent = tag;
      this.titleElement.prepend(label);
    }
    this.lastElement = document.createElement("span");
    this.lastElement.className = "chart-last";
    caption.append(this.titleElement, this.lastElement);
    this.svg = svg("svg", { height: HEIGHT, role: "img", "aria-label": metric });
    this.tooltip = document.createElement("div");
    this.tooltip.className = "chart-tooltip";
    this.tooltip.hidden = true;
    this.element.append(caption, this.svg, this.tooltip);
    this.svg.addEventListener("mousemove", event => this.hover(event));
    this.svg.addEventListener("mouseleave", () => this.hover(null));
    new ResizeObserver(() => this.render()).observe(this.element);
  }

  /** series: [{ id, label, color, points: [[step, value], ...] sorted by step }] */
  setSeries(series) {
    this.series = series.filter(s => s.points.length > 0);
    const total = this.series.reduce((n, s) => n + s.points.length, 0);
    this.element.dataset.points = String(total);
    this.element.dataset.series = String(this.series.length);
    const only = this.series.length === 1 ? this.series[0].points : null;
    this.lastElement.textContent = only ? formatNumber(only[only.length - 1][1]) : "";
    this.render();
  }

  setSmoothing(weight) {
    this.smoothing = weight;
    this.render();
  }

  render() {
    const width = Math.max(200, Math.floor(this.svg.getBoundingClientRect().width || this.element.clientWidth || 400));
    this.svg.setAttribute("viewBox", `0 0 ${width} ${HEIGHT}`);
    this.svg.replaceChildren();
    const plotWidth = width - MARGIN.left - MARGIN.right;
    const plotHeight = HEIGHT - MARGIN.top - MARGIN.bottom;
    const all = this.series.flatMap(s => s.points);
    if (all.length === 0) return;

    let [xMin, xMax] = [Infinity, -Infinity], [yMin, yMax] = [Infinity, -Infinity];
    for (const [x, y] of all) {
      xMin = Math.min(xMin, x); xMax = Math.max(xMax, x);
      yMin = Math.min(yMin, y); yMax = Math.max(yMax, y);
    }
    if (xMax === xMin) { xMin -= 1; xMax += 1; }
    if (xMin < 0 && all.every(([x]) => x >= 0)) xMin = Math.min(0, ...all.map(([x]) => x));
    if (yMax === yMin) { const pad = Math.abs(yMin) * 0.05 || 1; yMin -= pad; yMax += pad; }
    const yPad = (yMax - yMin) * 0.05;
    yMin -= yPad; yMax += yPad;
    this.scale = {
      x: x => MARGIN.left + ((x - xMin) / (xMax - xMin)) * plotWidth,
      y: y => MARGIN.top + (1 - (y - yMin) / (yMax - yMin)) * plotHeight,
      invertX: px => xMin + ((px - MARGIN.left) / plotWidth) * (xMax - xMin),
    };
    const { x: sx, y: sy } = this.scale;

    const grid = svg("g", { class: "grid" });
    for (const t of niceTicks(yMin, yMax, 4)) {
      grid.append(svg("line", { x1: MARGIN.left, x2: width - MARGIN.right, y1: sy(t), y2: sy(t) }));
      const label = svg("text", { x: MARGIN.left - 6, y: sy(t) + 4, "text-anchor": "end" });
      label.textContent = formatNumber(t);
      grid.append(label);
    }
    const integerSteps = all.every(([x]) => Number.isInteger(x));
    for (const t of niceTicks(xMin, xMax, Math.max(2, Math.floor(plotWidth / 90)))) {
      if (integerSteps && !Number.isInteger(t)) continue;
      const label = svg("text", { x: sx(t), y: HEIGHT - 8, "text-anchor": "middle" });
      label.textContent = formatNumber(t);
      grid.append(label);
    }
    grid.append(svg("line", { class: "axis", x1: MARGIN.left, x2: MARGIN.left, y1: MARGIN.top, y2: MARGIN.top + plotHeight }));
    this.svg.append(grid);

    for (const s of this.series) {
      const raw = decimate(s.points, plotWidth);
      const path = points => points.map(([x, y], i) => `${i ? "L" : "M"}${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join("");
      const line = svg("path", { class: "line", d: path(raw), stroke: s.color, "data-run": s.id, "data-count": s.points.length });
      if (this.smoothing > 0) {
        line.setAttribute("class", "line raw");
        this.svg.append(line, svg("path", { class: "line", d: path(decimate(smooth(s.points, this.smoothing), plotWidth)), stroke: s.color }));
      } else {
        this.svg.append(line);
      }
      if (s.points.length === 1) {
        const [x, y] = s.points[0];
        this.svg.append(svg("circle", { cx: sx(x), cy: sy(y), r: 3, fill: s.color }));
      }
    }
    this.cursor = svg("line", { class: "cursor", y1: MARGIN.top, y2: MARGIN.top + plotHeight, visibility: "hidden" });
    this.svg.append(this.cursor);
  }

  hover(event) {
    if (!event || !this.scale || this.series.length === 0) {
      this.tooltip.hidden = true;
      if (this.cursor) this.cursor.setAttribute("visibility", "hidden");
      return;
    }
    const box = this.svg.getBoundingClientRect();
    const scaleX = (this.svg.viewBox.baseVal?.width || box.width) / box.width;
    const step = this.scale.invertX((event.clientX - box.left) * scaleX);
    const rows = this.series.map(s => ({ s, p: s.points[nearestIndex(s.points, step)] }));
    const at = rows.reduce((best, r) => (Math.abs(r.p[0] - step) < Math.abs(best - step) ? r.p[0] : best), rows[0].p[0]);
    const px = this.scale.x(at);
    this.cursor.setAttribute("x1", px);
    this.cursor.setAttribute("x2", px);
    this.cursor.setAttribute("visibility", "visible");
    this.tooltip.replaceChildren();
    const head = document.createElement("div");
    head.className = "tooltip-step";
    head.textContent = `step ${formatNumber(at)}`;
    this.tooltip.append(head);
    for (const { s, p } of rows) {
      const row = document.createElement("div");
      const swatch = document.createElement("span");
      swatch.className = "swatch";
      swatch.style.background = s.color;
      row.append(swatch, `${s.label}: ${formatNumber(p[1])}`);
      this.tooltip.append(row);
    }
    this.tooltip.hidden = false;
    const left = Math.min(event.clientX - box.left + 12, box.width - this.tooltip.offsetWidth - 4);
    this.tooltip.style.left = `${Math.max(0, left)}px`;
    this.tooltip.style.top = "28px";
  }
}

window.LineChart = LineChart;
window.formatNumber = formatNumber;
