import path from 'node:path';
import ts from 'typescript';

const ROOT = path.resolve(__dirname, '../..');

/** The project's own compiler settings (tsconfig.json). */
function projectOptions(): ts.CompilerOptions {
  const config = ts.getParsedCommandLineOfConfigFile(
    path.join(ROOT, 'tsconfig.json'),
    {},
    {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (d) => {
        throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'));
      },
    },
  )!;
  return config.options;
}

/** Type-checks these files with the project's settings: the messages of errors in files under `within`. */
export function typeErrors(files: readonly string[], within: string): string[] {
  const program = ts.createProgram([...files], { ...projectOptions(), noEmit: true });
  return ts
    .getPreEmitDiagnostics(program)
    .filter((d) => d.file?.fileName.startsWith(within))
    .map((d) => ts.flattenDiagnosticMessageText(d.messageText, ' '));
}
