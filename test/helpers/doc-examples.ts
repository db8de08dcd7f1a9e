import { readFileSync } from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '../..');

/** The guide whose "Write your own saga" section holds the booking saga. */
export const EXTENDING_GUIDE = 'docs/extending.md';

export interface ExampleFile {
  name: string;
  code: string;
}

/** The `// file: name.ts` code blocks of a section (`## <heading>`) of a Markdown file, as they are written. */
export function docExampleFiles(file: string, heading: string): ExampleFile[] {
  const text = readFileSync(path.join(ROOT, file), 'utf8');
  const start = text.indexOf(`## ${heading}`);
  if (start < 0) throw new Error(`${file} has no section "## ${heading}"`);
  const end = text.indexOf('\n## ', start + 3);
  const section = text.slice(start, end < 0 ? undefined : end);
  return [...section.matchAll(/```ts\n\/\/ file: (\S+)\n([\s\S]*?)```/g)].map((m) => ({ name: m[1]!, code: m[2]! }));
}
