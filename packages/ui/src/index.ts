import { createRequire } from "node:module";
import { dirname, join } from "node:path";

/**
 * The console's static files: its own page (web/) and the browser libraries it loads,
 * resolved inside node_modules at start-up, so the page works with no network and no CDN.
 */
export interface WebAsset {
  readonly path: string;
  readonly contentType: string;
}

const require = createRequire(import.meta.url);
const TYPES = {
  html: "text/html; charset=utf-8",
  js: "text/javascript; charset=utf-8",
  css: "text/css; charset=utf-8",
} as const;

/**
 * The package's web/ folder, found through the package's own entry point rather than this
 * module's URL: bundled into the compiled CLI, this module lives in packages/cli/dist/.
 */
const WEB_DIR = join(dirname(require.resolve("@compacter/ui")), "..", "web");

function own(name: string, type: keyof typeof TYPES): WebAsset {
  return { path: join(WEB_DIR, name), contentType: TYPES[type] };
}

function vendor(specifier: string, type: keyof typeof TYPES): WebAsset {
  return { path: require.resolve(specifier), contentType: TYPES[type] };
}

/** URL path → file. Everything the page may load is listed here; nothing else is served. */
export function webAssets(): ReadonlyMap<string, WebAsset> {
  return new Map([
    ["/", own("index.html", "html")],
    ["/app.js", own("app.js", "js")],
    ["/health.js", own("health.js", "js")],
    ["/unitDay.js", own("unitDay.js", "js")],
    ["/sql.js", own("sql.js", "js")],
    ["/style.css", own("style.css", "css")],
    ["/vendor/uplot.js", vendor("uplot/dist/uPlot.iife.min.js", "js")],
    ["/vendor/uplot.css", vendor("uplot/dist/uPlot.min.css", "css")],
    ["/vendor/leaflet.js", vendor("leaflet/dist/leaflet.js", "js")],
    ["/vendor/leaflet.css", vendor("leaflet/dist/leaflet.css", "css")],
  ]);
}
