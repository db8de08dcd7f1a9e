import { readFileSync } from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '../..');

export interface ExampleFile {
  name: string;
  code: string;
}

/** The `// file: name.ts` code blocks of a README section (`## <heading>`), as they are written. */
export function readmeExampleFiles(heading: string): ExampleFile[] {
  const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const start = readme.indexOf(`## ${heading}`);
  if (start < 0) throw new Error(`README.md has no section "## ${heading}"`);
  const end = readme.indexOf('\n## ', start + 3);
  const section = readme.slice(start, end < 0 ? undefined : end);
  return [...section.matchAll(/```ts\n\/\/ file: (\S+)\n([\s\S]*?)```/g)].map((m) => ({ name: m[1]!, code: m[2]! }));
}
