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

let cached: { options: ts.CompilerOptions; host: ts.CompilerHost } | undefined;
/** The folder or file the current call checks: always read fresh. */
let checking = '';

/**
 * The project's settings and a compiler host that parses each file once per test file: the
 * programs of one file's cases share the standard library's and the project's parsed sources
 * (a program each would parse them all again, seconds apiece). Files written by a case are
 * read fresh: files under the call's `within` are never kept.
 */
function compiler(within: string): { options: ts.CompilerOptions; host: ts.CompilerHost } {
  checking = within;
  if (!cached) {
    const options = { ...projectOptions(), noEmit: true };
    const host = ts.createCompilerHost(options);
    const parsed = new Map<string, ts.SourceFile | undefined>();
    const read = host.getSourceFile.bind(host);
    cached = {
      options,
      host: {
        ...host,
        getSourceFile(fileName, languageVersion, onError, shouldCreate) {
          if (fileName.startsWith(checking)) return read(fileName, languageVersion, onError, shouldCreate);
          if (!parsed.has(fileName)) parsed.set(fileName, read(fileName, languageVersion, onError, shouldCreate));
          return parsed.get(fileName);
        },
      },
    };
  }
  return cached;
}

/** Type-checks these files with the project's settings: the messages of errors in files under `within`. */
export function typeErrors(files: readonly string[], within: string): string[] {
  const { options, host } = compiler(within);
  const program = ts.createProgram([...files], options, host);
  // Only the files under `within` are checked: the project's own sources they import are the
  // type-check's subject (npm test), not each case's (checking them all again took seconds).
  return program
    .getSourceFiles()
    .filter((file) => file.fileName.startsWith(within))
    .flatMap((file) => [...program.getSyntacticDiagnostics(file), ...program.getSemanticDiagnostics(file)])
    .map((d) => ts.flattenDiagnosticMessageText(d.messageText, ' '));
}
