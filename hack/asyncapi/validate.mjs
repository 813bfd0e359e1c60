// Check AsyncAPI documents with the AsyncAPI project's own parser (its JSON schemas and rules).
// Usage: node validate.mjs FILE...  Prints one JSON object {file: [diagnostics]}; exits 1 when
// any document has an error (severity 0), 0 otherwise. Warnings are printed, never fatal.
import { readFileSync } from "node:fs";
import { Parser } from "@asyncapi/parser";

const parser = new Parser();
const report = {};
let failed = false;
for (const file of process.argv.slice(2)) {
  const diagnostics = await parser.validate(readFileSync(file, "utf8"), { source: file });
  report[file] = diagnostics.map((d) => ({
    severity: d.severity,
    code: String(d.code),
    message: d.message,
    path: d.path.join("."),
  }));
  if (diagnostics.some((d) => d.severity === 0)) failed = true;
}
console.log(JSON.stringify(report, null, 2));
process.exit(failed ? 1 : 0);
