// The map page's script (bundled by esbuild into src/dailypapers/web/static/map.js: `npm ci && npm run build`).
// regl-scatterplot draws the points with WebGL; the region names are HTML laid over the canvas, placed through
// the d3 scales that regl-scatterplot keeps in step with its camera; the zoom level picks how fine they are.
import createScatterplot from 'regl-scatterplot';
import { scaleLinear } from 'd3-scale';

const COLORS = ['#64748b', '#f59e0b', '#e11d48']; // earlier, this week, today
const DARK_COLORS = ['#94a3b8', '#fbbf24', '#fb7185'];

async function main() {
  const frame = document.getElementById('map');
  if (!frame) return;
  const canvas = document.getElementById('map-canvas');
  const labelLayer = frame.querySelector('.map-labels');
  const tip = frame.querySelector('.map-tip');
  const meta = await (await fetch(frame.dataset.meta)).json();
  const [buffer, ids] = await Promise.all([
    fetch(meta.pointsUrl).then((r) => r.arrayBuffer()),
    fetch(meta.idsUrl).then((r) => r.json()),
  ]);
  const triples = new Float32Array(buffer);
  const n = ids.length;
  const x = new Float32Array(n);
  const y = new Float32Array(n);
  const flag = new Float32Array(n);
  // Today's points last, so they are drawn on top.
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => triples[a * 3 + 2] - triples[b * 3 + 2]);
  order.forEach((source, i) => {
    x[i] = triples[source * 3];
    y[i] = triples[source * 3 + 1];
    flag[i] = triples[source * 3 + 2];
  });
  const dark = window.matchMedia('(prefers-color-scheme: dark)').matches;
  const { width, height } = canvas.getBoundingClientRect();
  const xScale = scaleLinear().domain([-1, 1]);
  const yScale = scaleLinear().domain([-1, 1]);
  const scatterplot = createScatterplot({
    canvas,
    width,
    height,
    xScale,
    yScale,
    pointSize: [2.5, 5, 7],
    sizeBy: 'valueA',
    colorBy: 'valueA',
    pointColor: dark ? DARK_COLORS : COLORS,
    opacity: [0.55, 0.95, 1],
    opacityBy: 'valueA',
    backgroundColor: dark ? '#111827' : '#f9fafb',
    lassoOnLongPress: false,
    showReticle: false,
  });
  await scatterplot.draw({ x, y, valueA: flag }, { zDataType: 'categorical' });
  frame.dataset.ready = String(n);

  const levels = meta.labels || [];
  function placeLabels({ xScale: xs, yScale: ys }) {
    const zoom = 2 / Math.max(1e-9, xs.domain()[1] - xs.domain()[0]);
    const level = Math.min(levels.length - 1, zoom < 2 ? 0 : zoom < 5 ? 1 : 2);
    const [w, h] = [canvas.clientWidth, canvas.clientHeight];
    labelLayer.replaceChildren();
    const taken = [];
    for (const region of levels[level] || []) {
      const left = xs(region.x);
      const top = ys(region.y);
      if (left < 0 || top < 0 || left > w || top > h) continue;
      if (taken.some(([l, t]) => Math.abs(l - left) < 110 && Math.abs(t - top) < 18)) continue;
      taken.push([left, top]);
      const label = document.createElement('span');
      label.className = `map-label level-${level}`;
      label.textContent = region.label;
      label.style.left = `${left}px`;
      label.style.top = `${top}px`;
      labelLayer.append(label);
    }
    frame.dataset.zoomLevel = String(level);
    // Where the newest paper is on screen (for people, the brightest dot; for the browser test, a target).
    const newest = n - 1;
    const [px, py] = [xs(x[newest]), ys(y[newest])];
    frame.dataset.newest = `${Math.round(px)},${Math.round(py)},${ids[order[newest]]}`;
  }
  scatterplot.subscribe('view', placeLabels);
  placeLabels({ xScale, yScale });

  const titles = new Map();
  let hovered = -1;
  scatterplot.subscribe('pointover', async (index) => {
    hovered = index;
    const arxivId = ids[order[index]];
    const [px, py] = scatterplot.getScreenPosition(index) || [0, 0];
    tip.hidden = false;
    tip.style.left = `${Math.min(px + 12, canvas.clientWidth - 240)}px`;
    tip.style.top = `${py + 12}px`;
    tip.textContent = titles.get(arxivId) || arxivId;
    if (!titles.has(arxivId)) {
      const response = await fetch(`/api/papers/${arxivId}`);
      if (response.ok) titles.set(arxivId, (await response.json()).title);
      if (hovered === index) tip.textContent = titles.get(arxivId) || arxivId;
    }
  });
  scatterplot.subscribe('pointout', () => {
    hovered = -1;
    tip.hidden = true;
  });
  scatterplot.subscribe('select', ({ points }) => {
    if (points.length === 1) window.location.assign(`/papers/${ids[order[points[0]]]}`);
  });
  new ResizeObserver(() => {
    const box = canvas.getBoundingClientRect();
    scatterplot.set({ width: box.width, height: box.height });
  }).observe(canvas);
}

main();
