/** index.html of a web bundle: the markup and styles; app.js fills it in. */

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

export function renderIndexHtml(opts: { title: string }): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>${escapeHtml(opts.title)}</title>
<style>
  :root { --fg: #1d2430; --muted: #5b6575; --line: #d9dee7; --accent: #2f6fdf; --bg: #f6f8fb; }
  * { box-sizing: border-box; }
  body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: var(--bg); }
  main { max-width: 860px; margin: 0 auto; padding: 24px 20px 40px; }
  h1 { font-size: 22px; margin: 0 0 4px; }
  .sub { color: var(--muted); margin: 0 0 18px; }
  .card { background: #fff; border: 1px solid var(--line); border-radius: 10px; padding: 16px 18px; margin-bottom: 16px; }
  textarea { width: 100%; min-height: 130px; font: inherit; padding: 10px; border: 1px solid var(--line); border-radius: 8px; resize: vertical; }
  .row { display: flex; gap: 12px; align-items: center; margin-top: 10px; flex-wrap: wrap; }
  button { font: inherit; padding: 7px 16px; border-radius: 8px; border: 1px solid var(--accent); background: var(--accent); color: #fff; cursor: pointer; }
  button:disabled { opacity: .5; cursor: default; }
  #status { color: var(--muted); }
  #label { font-size: 26px; font-weight: 650; margin: 0 0 10px; }
  .bar { display: grid; grid-template-columns: 130px 1fr 64px; gap: 10px; align-items: center; margin: 6px 0; }
  .track { background: #e9edf3; border-radius: 6px; height: 16px; overflow: hidden; }
  .fill { background: var(--accent); height: 100%; }
  .fill.top { background: #1f9d55; }
  .num { text-align: right; font-variant-numeric: tabular-nums; }
  #latency { color: var(--muted); margin-top: 10px; }
  dl { display: grid; grid-template-columns: max-content 1fr; gap: 4px 16px; margin: 0; }
  dt { color: var(--muted); }
  dd { margin: 0; font-variant-numeric: tabular-nums; }
  #error { display: none; background: #fdecec; border-color: #f3b6b6; color: #8a1c1c; white-space: pre-wrap; }
  a { color: var(--accent); }
</style>
</head>
<body>
<main>
  <h1 id="title">${escapeHtml(opts.title)}</h1>
  <p class="sub">A sparse int8 BERT running in this page with onnxruntime-web (WebAssembly). Nothing you type leaves the browser.</p>
  <div class="card" id="error" role="alert"></div>
  <div class="card">
    <label for="text"><strong>Text to classify</strong></label>
    <textarea id="text" spellcheck="false">Congratulations! You have been selected for a FREE vacation. Click here now to claim your prize before it expires.</textarea>
    <div class="row"><button id="go" disabled>Classify</button><span id="status">loading the model…</span></div>
  </div>
  <div class="card" id="result" aria-live="polite">
    <p id="label">–</p>
    <div id="bars"></div>
    <div id="latency"></div>
  </div>
  <div class="card">
    <dl id="facts"></dl>
  </div>
</main>
<script>
  // Browsers refuse module scripts and fetches from file:// pages: say so instead of loading forever.
  if (location.protocol === 'file:') {
    var box = document.getElementById('error');
    box.style.display = 'block';
    box.textContent = 'This page must be served over HTTP: browsers do not let a page opened from a file load its scripts and model. Run \`prune-once serve <this folder>\` (or any static web server) and open the address it prints.';
    document.getElementById('status').textContent = 'not loaded';
  }
</script>
<script type="module" src="app.js"></script>
</body>
</html>
`;
}
