/**
 * A horizontal bar chart as a standalone SVG string, for the benchmark's
 * ratio to the plain proxy (tools/bench/results/latest.svg, shown in the README).
 * Pure and dependency-free: one bar per row, with a red tick at its target
 * where it has one, and a solid line at `reference` (1.0, the plain proxy).
 */

export interface Bar {
  label: string;
  value: number;
  /** Text after the value at the bar's end, e.g. "11,101 req/s". */
  note?: string;
  /** Bars of one group share a colour. */
  group?: string;
  /** Drawn as a red tick across the bar's row. */
  target?: number;
}

export interface Mark {
  value: number;
  label: string;
}

export interface ChartOptions {
  title: string;
  subtitle?: string;
  reference?: Mark;
}

const PALETTE = ['#4e79a7', '#f28e2b', '#59a14f', '#b07aa1', '#e15759', '#76b7b2', '#edc948', '#9c755f'];
/** Pixels: the whole width, the label column, room for the value after the longest bar, a bar, a row, the first row's top. */
const [WIDTH, LABEL_WIDTH, NOTE_WIDTH, BAR_HEIGHT, ROW_HEIGHT, TOP] = [960, 300, 190, 16, 22, 58];

export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!);
}

function fixed(n: number): string {
  return String(Math.round(n * 10) / 10);
}

export function barChart(bars: Bar[], options: ChartOptions): string {
  const top = Math.max(1e-9, ...bars.map((b) => Math.max(b.value, b.target ?? 0)), options.reference?.value ?? 0) * 1.05;
  const plotWidth = WIDTH - LABEL_WIDTH - NOTE_WIDTH - 20;
  const x = (value: number) => LABEL_WIDTH + (Math.max(0, value) / top) * plotWidth;
  const plotBottom = TOP + bars.length * ROW_HEIGHT;
  const targets = bars.some((bar) => bar.target !== undefined);
  const height = plotBottom + 24 + (targets ? 16 : 0) + 12;
  const groups: string[] = [];
  for (const bar of bars) if (bar.group !== undefined && !groups.includes(bar.group)) groups.push(bar.group);
  const colour = (bar: Bar) => PALETTE[Math.max(0, bar.group === undefined ? 0 : groups.indexOf(bar.group)) % PALETTE.length];

  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${WIDTH}" height="${height}" fill="#ffffff"/>`,
    `<text x="10" y="22" font-size="16" font-weight="bold">${escapeXml(options.title)}</text>`,
  ];
  if (options.subtitle) out.push(`<text x="10" y="42" fill="#555555">${escapeXml(options.subtitle)}</text>`);
  bars.forEach((bar, i) => {
    const y = TOP + i * ROW_HEIGHT;
    const end = x(bar.value);
    out.push(
      `<g class="bar"><text x="${LABEL_WIDTH - 8}" y="${y + 12}" text-anchor="end">${escapeXml(bar.label)}</text>` +
        `<rect x="${LABEL_WIDTH}" y="${y}" width="${fixed(end - LABEL_WIDTH)}" height="${BAR_HEIGHT}" fill="${colour(bar)}"/>` +
        `<text x="${fixed(end + 4)}" y="${y + 12}">${escapeXml(bar.value.toFixed(2) + (bar.note ? '  ' + bar.note : ''))}</text>` +
        (bar.target === undefined
          ? ''
          : `<line class="target" x1="${fixed(x(bar.target))}" y1="${y - 3}" x2="${fixed(x(bar.target))}" y2="${y + BAR_HEIGHT + 3}" stroke="#d62728" stroke-width="3"/>`) +
        '</g>',
    );
  });
  if (options.reference) {
    const at = fixed(x(options.reference.value));
    out.push(`<line x1="${at}" y1="${TOP - 6}" x2="${at}" y2="${plotBottom}" stroke="#222222" stroke-width="2"/>`);
    out.push(`<text x="${at}" y="${plotBottom + 14}" text-anchor="middle">${escapeXml(options.reference.label)}</text>`);
  }
  if (targets) out.push(`<text x="10" y="${plotBottom + 30}" fill="#d62728">${escapeXml('| red tick: the target of that case (issues 5 and 11)')}</text>`);
  out.push('</svg>');
  return out.join('\n') + '\n';
}
