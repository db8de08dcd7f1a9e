// Prints one plain closing line, "Tests: N passed, N failed[, N skipped]", as the very last
// line of the run (jest prints its own summary after reporters' onRunComplete, so the line is
// written on exit), for tools that read a run's closing line.
class SummaryReporter {
  onRunComplete(_contexts, results) {
    const skipped = results.numPendingTests + results.numTodoTests;
    const failed = results.numFailedTests + results.numRuntimeErrorTestSuites;
    const line = `Tests: ${results.numPassedTests} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`;
    process.once('exit', () => process.stderr.write(`\n${line}\n`));
  }
}
module.exports = SummaryReporter;
