import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

// The dependency rule of DESIGN.md §6, checked on every import of src/: a file never imports
// from a layer above its own, and workflow code (Temporal's deterministic sandbox) imports
// nothing at run time but the workflow SDK and other sandbox-safe files.

const SRC = path.resolve(__dirname, '../../src');

/** Top to bottom; within a layer imports may go either way. Keys: top-level folders or files of src/. */
const LAYERS: readonly (readonly string[])[] = [
  ['cli', 'cli.ts', 'index.ts'],
  ['dev.ts', 'worker.ts', 'processes', 'cluster', 'explore'],
  ['api'],
  ['workflows', 'activities', 'consumers', 'docs'],
  ['delivery', 'ports'],
  ['telemetry', 'temporal'],
  ['domain', 'events', 'store', 'saga', 'workflow.ts'],
  ['correlation', 'logger.ts', 'identities.ts'],
  ['util'],
];

/** What runs inside the workflow sandbox, and what it may import at run time besides itself. */
const SANDBOX = (file: string) =>
  /^(saga|workflows)\//.test(file) ||
  ['workflow.ts', 'correlation/temporal-headers.ts', 'correlation/correlation.ts'].includes(file);
const SANDBOX_PACKAGES = new Set(['@temporalio/workflow', '@temporalio/common']);

const rank = new Map(LAYERS.flatMap((keys, i) => keys.map((k) => [k, i] as const)));
const layerOf = (file: string) => rank.get(file.split('/')[0]!);

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) return full.endsWith(path.join('api', 'console', 'app')) ? [] : sourceFiles(full);
    return name.endsWith('.ts') && !name.endsWith('.d.ts') ? [full] : [];
  });
}

interface Import {
  from: string;
  /** A file of src/ (relative), or the package named. */
  to: string;
  typeOnly: boolean;
}

/** Every import and re-export of a file, resolved; `import type` and `export type` marked. */
function importsOf(file: string): Import[] {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022, false);
  const from = path.relative(SRC, file);
  const found: Import[] = [];
  for (const node of source.statements) {
    if (!(ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) || !node.moduleSpecifier) continue;
    const spec = (node.moduleSpecifier as ts.StringLiteral).text;
    const typeOnly = ts.isImportDeclaration(node)
      ? Boolean(
          node.importClause?.isTypeOnly ||
          (node.importClause &&
            !node.importClause.name &&
            node.importClause.namedBindings &&
            ts.isNamedImports(node.importClause.namedBindings) &&
            node.importClause.namedBindings.elements.every((e) => e.isTypeOnly)),
        )
      : node.isTypeOnly;
    if (!spec.startsWith('.')) {
      found.push({ from, to: spec, typeOnly });
      continue;
    }
    const target = path.resolve(path.dirname(file), spec);
    const resolved = [`${target}.ts`, path.join(target, 'index.ts')].find((f) => {
      try {
        return statSync(f).isFile();
      } catch {
        return false;
      }
    });
    if (!resolved) throw new Error(`${from}: cannot resolve ${spec}`);
    found.push({ from, to: path.relative(SRC, resolved), typeOnly });
  }
  return found;
}

const files = sourceFiles(SRC);
const imports = files.flatMap(importsOf);
const local = imports.filter((i) => !i.to.startsWith('@') && i.to.includes('.ts'));

describe('the layers of src/ (DESIGN.md §6)', () => {
  it('places every file in a layer', () => {
    expect(files.map((f) => path.relative(SRC, f)).filter((f) => layerOf(f) === undefined)).toEqual([]);
  });

  it('has no import that runs up the layers', () => {
    const upward = local.filter((i) => layerOf(i.to)! < layerOf(i.from)!).map((i) => `${i.from} -> ${i.to}`);
    expect(upward).toEqual([]);
  });

  it('keeps workflow code sandbox-safe: at run time only the workflow SDK and other sandbox files', () => {
    const unsafe = imports
      .filter((i) => SANDBOX(i.from) && !i.typeOnly)
      .filter((i) => !(SANDBOX_PACKAGES.has(i.to) || (i.to.endsWith('.ts') && SANDBOX(i.to))))
      .map((i) => `${i.from} -> ${i.to}`);
    expect(unsafe).toEqual([]);
  });

  it('lets workflows reach activities by their types only, and never the store', () => {
    const wrong = imports
      .filter((i) => i.from.startsWith('workflows/'))
      .filter((i) => i.to.startsWith('store/') || (i.to.startsWith('activities/') && !i.typeOnly))
      .map((i) => `${i.from} -> ${i.to}`);
    expect(wrong).toEqual([]);
  });

  it('sees the imports it checks (a rule over nothing would pass)', () => {
    expect(local.length).toBeGreaterThan(300);
    expect(local).toContainEqual({ from: 'workflows/order-saga.ts', to: 'saga/frame.ts', typeOnly: false });
  });
});
