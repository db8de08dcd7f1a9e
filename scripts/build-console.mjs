// Builds the operations console (src/api/console/app, Preact) into dist/console/: one script,
// one stylesheet and the page, served by the API at /console. Nothing is fetched at run time.
import { build } from 'esbuild';
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const source = path.join(root, 'src/api/console/app');
const out = path.join(root, 'dist/console');

await mkdir(out, { recursive: true });
await build({
  entryPoints: [path.join(source, 'main.tsx')],
  outfile: path.join(out, 'console.js'),
  bundle: true,
  minify: true,
  format: 'iife',
  target: 'es2020',
  jsx: 'automatic',
  jsxImportSource: 'preact',
  legalComments: 'none',
  logLevel: 'warning',
});
await copyFile(path.join(source, 'style.css'), path.join(out, 'console.css'));
await writeFile(
  path.join(out, 'index.html'),
  `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <title>Saga orchestrator · operations console</title>
    <link rel="stylesheet" href="/console/assets/console.css" />
  </head>
  <body>
    <div id="app"></div>
    <script src="/console/assets/console.js"></script>
  </body>
</html>
`,
);
