/** Markdown building blocks of the generated docs. */

export const code = (s: string): string => `\`${s}\``;
const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
const row = (cells: string[]) => `| ${cells.map(cell).join(' | ')} |`;

/** A table's lines: header, separator, rows (pipes escaped, newlines flattened). */
export function table(header: string[], rows: string[][]): string[] {
  return [row(header), row(header.map(() => '---')), ...rows.map(row)];
}
