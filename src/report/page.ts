/**
 * The pieces of prune-once's self-contained HTML pages (a run's report.html, a sweep's
 * sweep-report.html): one style sheet, escaping, figure cells that carry their raw value for tests,
 * and a figure frame for the inline SVG charts (charts.ts). No script, nothing loaded from the network.
 */

export const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** A table cell holding a figure: shown formatted, the raw value in data-value (a test compares it with the JSON). */
export function cell(key: string, value: number | null, shown: string): string {
  return `<td class="num" data-key="${esc(key)}" data-value="${value === null ? 'null' : String(value)}">${esc(shown)}</td>`;
}

export function table(header: string[], rows: string[][]): string {
  return `<table><thead><tr>${header.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${rows.map((r) => `<tr>${r.join('')}</tr>`).join('')}</tbody></table>`;
}

export const td = (s: string) => `<td>${esc(s)}</td>`;

export function figure(title: string, svg: string, caption: string): string {
  return `<figure><figcaption><strong>${esc(title)}</strong> ${esc(caption)}</figcaption><div class="chart">${svg}</div></figure>`;
}

export const CSS = `
:root { --fg:#1d2430; --muted:#5b6575; --line:#d9dee7; --bg:#f6f8fb; --accent:#2f6fdf; }
* { box-sizing: border-box; }
body { margin:0; font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif; color:var(--fg); background:var(--bg); }
main { max-width:1080px; margin:0 auto; padding:24px 20px 48px; }
h1 { font-size:24px; margin:0 0 4px; } h2 { font-size:18px; margin:32px 0 10px; padding-top:8px; border-top:1px solid var(--line); }
.meta { color:var(--muted); margin:0 0 16px; }
.tiles { display:grid; grid-template-columns:repeat(auto-fit,minmax(190px,1fr)); gap:12px; margin:16px 0; }
.tile { background:#fff; border:1px solid var(--line); border-radius:10px; padding:12px 14px; }
.tile .v { font-size:22px; font-weight:650; } .tile .k { color:var(--muted); font-size:12.5px; }
figure { margin:14px 0 22px; background:#fff; border:1px solid var(--line); border-radius:10px; padding:12px 14px; }
figcaption { color:var(--muted); margin-bottom:8px; } figcaption strong { color:var(--fg); }
.chart { overflow-x:auto; } .chart svg { max-width:100%; height:auto; }
table { border-collapse:collapse; background:#fff; border:1px solid var(--line); margin:8px 0 16px; font-size:13.5px; }
th, td { padding:5px 10px; border-bottom:1px solid var(--line); text-align:left; vertical-align:top; }
th { background:#eef2f8; font-weight:600; } td.num { text-align:right; font-variant-numeric:tabular-nums; white-space:nowrap; }
.note { color:var(--muted); font-size:13px; }
nav a { color:var(--accent); margin-right:12px; text-decoration:none; }
details { margin:6px 0 0; } summary { color:var(--muted); cursor:pointer; font-size:13px; }
`;

/** A whole page: the title, the style sheet and the body's parts. */
export function htmlPage(title: string, body: string[]): string {
  return `<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><link rel="icon" href="data:,"><title>${esc(title)}</title><style>${CSS}</style></head><body><main>\n${body.join('\n')}\n</main></body></html>\n`;
}
