/**
 * The HTML of every page: a shell that names the page, embeds its view (the same JSON as the page's API
 * route) and loads the web bundle (web/, built into the static root), which draws it.
 */
import { escapeHtml } from '../report/colors.ts';

export type PageKind = 'home' | 'layer' | 'feature' | 'run' | 'error' | 'play';

/** JSON inside a <script> element: no `<` (so no `</script>`), and no line separators that end a line of JS. */
export const embeddedJson = (value: unknown): string =>
  JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');

export function pageHtml(
  kind: PageKind,
  title: string,
  view: unknown,
  options: { store: string; bundle: boolean },
): string {
  const message =
    kind === 'error' && typeof (view as { message?: unknown }).message === 'string'
      ? `<p class="error">${escapeHtml((view as { message: string }).message)}</p>\n`
      : '';
  const missing = options.bundle
    ? ''
    : `<p class="warning">The web bundle is not built: run <code>npm run build:web</code> (or <code>npm run build</code>) in the reverie checkout.</p>`;
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)} · reverie</title>
<link rel="stylesheet" href="/static/app.css">
</head>
<body data-page="${kind}">
<header class="top"><a href="/">reverie</a><span class="store">${escapeHtml(options.store)}</span></header>
<main id="app">
<h1>${escapeHtml(title)}</h1>
${message}${missing}
<noscript>This page draws its figures and tables with JavaScript; its data is at the same path under /api.</noscript>
</main>
<script type="application/json" id="view">${embeddedJson(view)}</script>
<script type="module" src="/static/app.js"></script>
</body>
</html>
`;
}

/**
 * The /play page: the in-browser dream (web/pages/play.ts, bundle play.js). `assets` prefixes its script and
 * style ('/static/' on the server, '' in the static folder); `home` is the link of the header, if any.
 */
export function playHtml(
  view: { weights: string; tokenizer: string; wasm: string },
  options: { assets: string; home: string | null },
): string {
  const home =
    options.home === null
      ? '<span class="brand">reverie</span>'
      : `<a href="${escapeHtml(options.home)}">reverie</a>`;
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Dream in the browser · reverie</title>
<link rel="stylesheet" href="${escapeHtml(options.assets)}app.css">
</head>
<body data-page="play">
<header class="top">${home}<span class="store">stories260K, dreamed in this page (onnxruntime-web)</span></header>
<main id="app">
<h1>Dream in the browser</h1>
<noscript>This page dreams with JavaScript and WebAssembly.</noscript>
</main>
<script type="application/json" id="view">${embeddedJson(view)}</script>
<script type="module" src="${escapeHtml(options.assets)}play.js"></script>
</body>
</html>
`;
}
