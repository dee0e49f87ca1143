// Parses each Mermaid file given with the parser of Mermaid itself, under jsdom (no browser).
// Usage: node parse.mjs FILE... ; exits 1 if any file does not parse.
import { JSDOM } from 'jsdom';
import { readFileSync } from 'node:fs';
const dom = new JSDOM('<!doctype html><html><body></body></html>');
globalThis.window = dom.window;
globalThis.document = dom.window.document;
const { default: mermaid } = await import('mermaid');
mermaid.initialize({ startOnLoad: false });
let failed = 0;
for (const file of process.argv.slice(2)) {
  const text = readFileSync(file, 'utf8');
  try {
    const r = await mermaid.parse(text);
    console.log('ok', file, r.diagramType);
  } catch (e) {
    failed++;
    console.log('FAIL', file, String(e.message || e).split('\n').slice(0, 4).join(' | '));
  }
}
// A deliberately broken diagram must fail, or the check proves nothing.
try { await mermaid.parse('stateDiagram-v2\n  a --> : : ]]'); console.log('BROKEN ACCEPTED'); failed++; } catch { console.log('ok broken diagram refused'); }
process.exit(failed ? 1 : 0);
