// A small dependency-free SVG line chart with log-log axes, for the results of bench/ and demo/.
'use strict';

const COLORS = ['#1b6ac9', '#d1495b', '#2e933c', '#edae49', '#6a4c93', '#00798c'];

function escape(text) {
  return String(text).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Powers of 10 (and 2x, 5x) covering [lo, hi] on a log axis. */
function logTicks(lo, hi) {
  const ticks = [];
  for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) {
    for (const m of [1, 2, 5]) {
      const v = m * 10 ** e;
      if (v >= lo && v <= hi) ticks.push(v);
    }
  }
  return ticks;
}

/**
 * series: [{ name, points: [[x, y], ...] or [[x, y, low, high], ...] (a whisker from low to
 * high: the seeds' spread, say), dashed?, color? (an index into the palette; by default the
 * series' own) }]; marks: [{ x, y, label }] (a failed run, say). formatX / formatY label the
 * ticks. The x axis is logarithmic; so is y unless linearY = [min, max] is given.
 */
function lineChart({
  title,
  xLabel,
  yLabel,
  series,
  marks = [],
  formatX = String,
  formatY = String,
  hLines = [],
  linearY,
}) {
  const width = 760;
  const height = 460;
  const m = { left: 78, right: 200, top: 46, bottom: 58 };
  const all = series
    .flatMap((s) => s.points)
    .concat(
      marks.map((k) => [k.x, k.y]),
      hLines.map((h) => [NaN, h.y]),
    );
  const xs = all.map((p) => p[0]).filter((v) => v > 0);
  const ys = all.map((p) => p[1]).filter((v) => v > 0 || linearY);
  const [x0, x1] = [Math.min(...xs) / 1.3, Math.max(...xs) * 1.3];
  const [y0, y1] = linearY ? linearY : [Math.min(...ys) / 1.6, Math.max(...ys) * 1.6];
  const px = (v) =>
    m.left + ((Math.log(v) - Math.log(x0)) / (Math.log(x1) - Math.log(x0))) * (width - m.left - m.right);
  const yFraction = linearY
    ? (v) => (v - y0) / (y1 - y0)
    : (v) => (Math.log(v) - Math.log(y0)) / (Math.log(y1) - Math.log(y0));
  const py = (v) => height - m.bottom - yFraction(v) * (height - m.top - m.bottom);
  const out = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="Helvetica, Arial, sans-serif" font-size="13">`,
  );
  out.push(`<rect width="${width}" height="${height}" fill="white"/>`);
  out.push(
    `<text x="${width / 2 - m.right / 2 + m.left / 2}" y="26" text-anchor="middle" font-size="16" font-weight="bold">${escape(title)}</text>`,
  );
  const yTicks = linearY ? Array.from({ length: 11 }, (_, i) => y0 + ((y1 - y0) * i) / 10) : logTicks(y0, y1);
  for (const t of yTicks) {
    out.push(`<line x1="${m.left}" x2="${width - m.right}" y1="${py(t)}" y2="${py(t)}" stroke="#e4e4e4"/>`);
    out.push(
      `<text x="${m.left - 8}" y="${py(t) + 4}" text-anchor="end" fill="#444">${escape(formatY(t))}</text>`,
    );
  }
  for (const s of series) {
    for (const [x] of s.points) {
      if (!out.some((line) => line.includes(`data-x="${x}"`))) {
        out.push(
          `<line data-x="${x}" x1="${px(x)}" x2="${px(x)}" y1="${m.top}" y2="${height - m.bottom}" stroke="#f0f0f0"/>`,
        );
        out.push(
          `<text x="${px(x)}" y="${height - m.bottom + 18}" text-anchor="middle" fill="#444">${escape(formatX(x))}</text>`,
        );
      }
    }
  }
  for (const h of hLines) {
    out.push(
      `<line x1="${m.left}" x2="${width - m.right}" y1="${py(h.y)}" y2="${py(h.y)}" stroke="#888" stroke-dasharray="6 4"/>`,
    );
    out.push(
      `<text x="${width - m.right - 4}" y="${py(h.y) - 6}" text-anchor="end" fill="#555">${escape(h.label)}</text>`,
    );
  }
  out.push(
    `<rect x="${m.left}" y="${m.top}" width="${width - m.left - m.right}" height="${height - m.top - m.bottom}" fill="none" stroke="#999"/>`,
  );
  series.forEach((s, i) => {
    const color = COLORS[(s.color ?? i) % COLORS.length];
    const d = s.points
      .map(([x, y], k) => `${k ? 'L' : 'M'}${px(x).toFixed(1)},${py(y).toFixed(1)}`)
      .join(' ');
    out.push(
      `<path d="${d}" fill="none" stroke="${color}" stroke-width="2.5"${s.dashed ? ' stroke-dasharray="7 4"' : ''}/>`,
    );
    for (const [x, y, low, high] of s.points) {
      out.push(`<circle cx="${px(x)}" cy="${py(y)}" r="4" fill="${color}"/>`);
      if (low !== undefined && high !== undefined && high > low)
        out.push(
          `<line x1="${px(x)}" x2="${px(x)}" y1="${py(low)}" y2="${py(high)}" stroke="${color}" stroke-width="1.5"/>`,
        );
    }
    const ly = m.top + 14 + i * 22;
    out.push(
      `<line x1="${width - m.right + 14}" x2="${width - m.right + 40}" y1="${ly}" y2="${ly}" stroke="${color}" stroke-width="2.5"${s.dashed ? ' stroke-dasharray="7 4"' : ''}/>`,
    );
    out.push(`<text x="${width - m.right + 46}" y="${ly + 4}">${escape(s.name)}</text>`);
  });
  for (const k of marks) {
    out.push(
      `<text x="${px(k.x)}" y="${py(k.y)}" text-anchor="middle" fill="#b00" font-size="16" font-weight="bold">✕</text>`,
    );
    out.push(
      `<text x="${px(k.x)}" y="${py(k.y) - 12}" text-anchor="middle" fill="#b00" font-size="11">${escape(k.label)}</text>`,
    );
  }
  out.push(
    `<text x="${(m.left + width - m.right) / 2}" y="${height - 14}" text-anchor="middle">${escape(xLabel)}</text>`,
  );
  out.push(
    `<text transform="translate(20 ${(m.top + height - m.bottom) / 2}) rotate(-90)" text-anchor="middle">${escape(yLabel)}</text>`,
  );
  out.push('</svg>');
  return out.join('\n') + '\n';
}

module.exports = { lineChart };
