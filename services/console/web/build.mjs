// Builds the console into ../bundle (or the directory given as the first argument): index.html, app.js and
// app.css with uPlot's stylesheet folded in. The output is deterministic (fixed names, no timestamps, no
// source maps), so that `make console-check` can rebuild it and compare it with the committed bundle.
import { build } from "esbuild";
import { copyFile, mkdir } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const out = resolve(process.argv[2] ?? resolve(here, "../bundle"));

await mkdir(out, { recursive: true });
const common = {
  bundle: true,
  minify: true,
  target: ["es2022"],
  legalComments: "eof",
  charset: "utf8",
  logLevel: "warning",
  absWorkingDir: here,
};
await build({
  ...common,
  entryPoints: ["src/main.tsx"],
  outfile: resolve(out, "app.js"),
  format: "iife",
  jsx: "automatic",
  jsxImportSource: "preact",
  define: { "process.env.NODE_ENV": '"production"' },
});
await build({
  ...common,
  entryPoints: ["src/app.css"],
  outfile: resolve(out, "app.css"),
});
await copyFile(resolve(here, "index.html"), resolve(out, "index.html"));
