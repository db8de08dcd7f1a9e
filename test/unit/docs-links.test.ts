import { existsSync } from 'node:fs';
import path from 'node:path';
import { headingAnchors, links, markdownFiles, readMarkdown, ROOT } from '../helpers/markdown';

/**
 * The README and docs/ stay navigable: every relative link points at a file in this
 * repository (and, into a Markdown file, at one of its headings), and the README stays short
 * enough to read as a first page.
 */

const files = markdownFiles();

describe('README.md', () => {
  it('has fewer than 250 lines', () => {
    expect(readMarkdown('README.md').split('\n').length).toBeLessThan(250);
  });

  it('links every guide under docs/', () => {
    const targets = new Set(links(readMarkdown('README.md')).map((l) => l.target.split('#')[0]));
    const guides = files.filter((f) => f.startsWith('docs/'));
    expect(guides.filter((f) => !targets.has(f))).toEqual([]);
  });
});

describe.each(files)('%s', (file) => {
  const markdown = readMarkdown(file);
  const relative = links(markdown).filter((l) => !/^[a-z][a-z0-9+.-]*:/i.test(l.target));

  it('links only to files that exist in the repository', () => {
    const broken = relative
      .filter((l) => !l.target.startsWith('#'))
      .filter((l) => {
        const target = path.resolve(ROOT, path.dirname(file), decodeURIComponent(l.target.split('#')[0]!));
        return !target.startsWith(ROOT + path.sep) || !existsSync(target);
      })
      .map((l) => `${file}:${l.line} ${l.target}`);
    expect(broken).toEqual([]);
  });

  it('links to headings that exist', () => {
    const broken = relative
      .filter((l) => l.target.includes('#'))
      .filter((l) => {
        const [target, anchor] = l.target.split('#') as [string, string];
        const into = target === '' ? file : path.posix.join(path.posix.dirname(file), target);
        if (!into.endsWith('.md') || !existsSync(path.join(ROOT, into))) return false;
        return !headingAnchors(readMarkdown(into)).includes(anchor);
      })
      .map((l) => `${file}:${l.line} ${l.target}`);
    expect(broken).toEqual([]);
  });

  it('names no file outside the repository', () => {
    // The project's docs stand alone: no design brief or checkout path of someone's machine.
    expect(markdown).not.toMatch(/DESIGN\.md|\/work\/|\/home\//);
  });
});
