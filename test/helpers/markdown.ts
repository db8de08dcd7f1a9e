import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';

/** The repository's root. */
export const ROOT = path.resolve(__dirname, '../..');

/** README.md and every Markdown file under docs/, as paths relative to the root. */
export function markdownFiles(): string[] {
  const docs = readdirSync(path.join(ROOT, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .sort()
    .map((f) => `docs/${f}`);
  return ['README.md', ...docs];
}

export const readMarkdown = (file: string): string => readFileSync(path.join(ROOT, file), 'utf8');

/**
 * The anchors GitHub gives the headings of a Markdown file (github-slugger): the heading's
 * text without inline markup, lower-cased, punctuation dropped, spaces turned into hyphens;
 * a repeated anchor gets `-1`, `-2` … Headings inside fenced code blocks do not count.
 */
export function headingAnchors(markdown: string): string[] {
  const anchors: string[] = [];
  const seen = new Map<string, number>();
  let fence: string | undefined;
  for (const line of markdown.split('\n')) {
    const marker = /^\s{0,3}(`{3,}|~{3,})/.exec(line)?.[1];
    if (marker && (fence === undefined || marker.startsWith(fence))) {
      fence = fence === undefined ? marker : undefined;
      continue;
    }
    const heading = fence === undefined ? /^\s{0,3}#{1,6}\s+(.*?)(?:\s+#+)?\s*$/.exec(line) : null;
    if (!heading) continue;
    const text = heading[1]!
      .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1') // links and images: their text
      .replace(/<[^>]*>/g, '') // inline HTML
      .replace(/[`*]/g, ''); // code spans and emphasis
    const base = text
      .toLowerCase()
      .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
      .replace(/ /g, '-');
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    anchors.push(n === 0 ? base : `${base}-${n}`);
  }
  return anchors;
}

/** The fenced code blocks of a Markdown file whose info string is one of `languages`, with the line each opens on. */
export function codeBlocks(markdown: string, languages: string[]): { language: string; line: number; code: string }[] {
  const blocks: { language: string; line: number; code: string }[] = [];
  let open: { fence: string; language: string; line: number; lines: string[] } | undefined;
  markdown.split('\n').forEach((text, i) => {
    const marker = /^\s{0,3}(`{3,}|~{3,})\s*([^\s`]*)/.exec(text);
    if (!open) {
      if (marker) open = { fence: marker[1]!, language: marker[2]!, line: i + 1, lines: [] };
      return;
    }
    if (marker && marker[1]!.startsWith(open.fence) && marker[2] === '') {
      if (languages.includes(open.language)) {
        blocks.push({ language: open.language, line: open.line, code: open.lines.join('\n') });
      }
      open = undefined;
      return;
    }
    open.lines.push(text);
  });
  return blocks;
}

/** The inline links and images of a Markdown file outside code (`[text](target)`), with their line. */
export function links(markdown: string): { target: string; line: number }[] {
  const found: { target: string; line: number }[] = [];
  let fence: string | undefined;
  markdown.split('\n').forEach((text, i) => {
    const marker = /^\s{0,3}(`{3,}|~{3,})/.exec(text)?.[1];
    if (marker && (fence === undefined || marker.startsWith(fence))) {
      fence = fence === undefined ? marker : undefined;
      return;
    }
    if (fence !== undefined) return;
    const prose = text.replace(/`[^`]*`/g, '');
    for (const m of prose.matchAll(/!?\[[^\]]*\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g))
      found.push({ target: m[1]!, line: i + 1 });
  });
  return found;
}
