/**
 * The console's one HTML page: a frame the script (web/main.ts) fills. No inline script or
 * style, so the Content-Security-Policy can forbid both, and every remote source. The style
 * sheet's id is the one cytoscape looks for before it injects a <style> of its own (which
 * the policy would block): console.css has the rule it would add. The icon is empty, so
 * the browser asks for no /favicon.ico.
 */
export const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>skiff console</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" id="__________cytoscape_stylesheet" href="/console.css">
<script type="module" src="/console.js"></script>
</head>
<body>
<header><h1>skiff <span id="site"></span></h1><span id="live">connecting</span></header>
<main>
<section id="graph-box"><h2>Network</h2>
<p class="legend"><span class="self">●</span> this site <span class="other">●</span> another site <span class="unreachable">●</span> unreachable; each link with its cost and round-trip time</p>
<div id="graph"></div></section>
<section><h2>Addresses</h2><table id="addresses"></table></section>
<section><h2>Links of this site</h2><table id="links"></table></section>
</main>
</body>
</html>
`;

/** Only this origin: no remote script, style, image, frame or connection. */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');
