import { GLOSSARY } from "./glossary.js";

/** The frame of every HTML report: one inline stylesheet, no script, no external resource; definitions at the end. */

export const STYLE = `
body { font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 0; color: #1d2125; background: #f6f7f9; }
main { max-width: 1080px; margin: 0 auto; padding: 24px 28px 64px; background: #fff; }
h1 { font-size: 26px; margin: 0 0 6px; }
h2 { font-size: 19px; margin: 36px 0 8px; padding-top: 10px; border-top: 1px solid #e6e8eb; }
h3 { font-size: 15px; margin: 20px 0 6px; }
p.scenario { margin: 0 0 6px; color: #333; }
p.replay code { display: block; background: #f1f3f5; padding: 6px 10px; border-radius: 4px; white-space: pre-wrap; word-break: break-all; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(420px, 1fr)); gap: 16px; }
.card { border: 1px solid #dde1e5; border-radius: 8px; padding: 12px 16px; }
.card h3 { margin-top: 0; font-size: 17px; }
.card p { margin: 6px 0; }
b.fig { font-weight: 650; }
.mark { display: inline-block; font-size: 11.5px; font-weight: 600; border-radius: 9px; padding: 0 7px; margin: 0 2px; white-space: nowrap; }
.mark.met { background: #d3f9d8; color: #2b8a3e; }
.mark.missed { background: #ffe3e3; color: #c92a2a; }
.chart { margin: 10px 0 4px; }
.chart svg { max-width: 100%; height: auto; }
.grid2 { display: grid; grid-template-columns: repeat(auto-fit, minmax(480px, 1fr)); gap: 8px 20px; }
p.caption { font-size: 13px; color: #495057; margin: 2px 0 18px; }
table { border-collapse: collapse; font-size: 13px; margin: 8px 0 16px; width: 100%; }
th, td { border-bottom: 1px solid #e6e8eb; padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: #f1f3f5; font-weight: 600; }
td.num { text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }
td.met { color: #2b8a3e; font-weight: 600; } td.missed { color: #c92a2a; font-weight: 600; }
td.what { color: #495057; font-size: 12.5px; }
code { font-size: 12.5px; }
table.scorecard { font-size: 11.5px; } table.scorecard th, table.scorecard td { padding: 3px 4px; }
table.scorecard th { font-weight: 600; font-size: 11px; hyphens: auto; }
details { margin: 8px 0; } summary { cursor: pointer; font-weight: 600; }
dl { display: grid; grid-template-columns: max-content auto; gap: 3px 16px; font-size: 13px; }
dt { font-weight: 600; } dd { margin: 0; color: #495057; }
`;

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title><style>${STYLE}</style></head>
<body><main>
${body}
<h2>Definitions</h2><dl>${GLOSSARY.map(([k, v]) => `<dt>${escapeHtml(k)}</dt><dd>${escapeHtml(v)}</dd>`).join("")}</dl>
</main></body></html>
`;
}
