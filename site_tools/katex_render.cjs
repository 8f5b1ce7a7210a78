// KaTeX at build time: TeX in, HTML out, so readers' browsers lay out HTML instead of
// typesetting hundreds of formulas on every page load.
// Protocol: one JSON request per line on stdin, [[tex, display], ...]; one JSON reply per
// line on stdout, the rendered HTML strings in the same order.
// Usage: node katex_render.cjs /path/to/node_modules/katex
"use strict";

const katex = require(process.argv[2]);
const readline = require("readline");

const OPTIONS = { throwOnError: false, output: "htmlAndMathml" };  // bad TeX: red, class katex-error

readline.createInterface({ input: process.stdin }).on("line", (line) => {
  const html = JSON.parse(line).map(([tex, display]) =>
    katex.renderToString(tex, Object.assign({ displayMode: display }, OPTIONS)));
  process.stdout.write(JSON.stringify(html) + "\n");
});
