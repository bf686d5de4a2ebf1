// Validates an AsyncAPI document with @asyncapi/parser (the parser AsyncAPI's own tools use: the
// specification's JSON Schema, reference resolution, payload schemas, and its recommended rules).
// Usage: node asyncapi-validate.mjs FILE. Exit 0 when there is neither an error nor a warning.
import { readFile } from 'node:fs/promises';
import { Parser, DiagnosticSeverity } from '@asyncapi/parser';

const file = process.argv[2];
const text = await readFile(file, 'utf8');
const { document, diagnostics } = await new Parser().parse(text, { source: file });
const severity = ['error', 'warning', 'information', 'hint'];
const shown = diagnostics.filter((d) => d.severity <= DiagnosticSeverity.Warning);
for (const d of shown) {
  const at = d.path.length ? d.path.join('.') : '(document)';
  console.error(`${severity[d.severity]} ${d.code} at ${at}: ${d.message}`);
}
if (!document || shown.length > 0) {
  console.error(`${file}: ${shown.length} problem(s)`);
  process.exit(1);
}
console.log(`${file}: valid AsyncAPI ${document.version()} (${document.channels().length} channels, ${document.messages().length} messages)`);
