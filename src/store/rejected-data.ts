/**
 * Errors where PostgreSQL refused the statement's data, not the moment: running it again
 * with the same input fails the same way, so retrying only delays the outcome.
 *
 * - Class 22 (data exception): a NUL in a text value (22021), `\u0000` in JSON (22P05), a
 *   value too long (22001), out of range (22003), unreadable as its type (22P02) …
 * - 23502 (not-null) and 23514 (check) violations: a required value is missing or outside
 *   what the column allows.
 *
 * Other integrity violations stay as they are on purpose: a unique violation (23505) is how
 * commands and appends detect a concurrent duplicate or a stale stream version, which a
 * retry resolves; a foreign-key violation (23503) can be a race with a row being written.
 */
const CONDITIONS: Record<string, string> = {
  '22001': 'string_data_right_truncation',
  '22003': 'numeric_value_out_of_range',
  '22007': 'invalid_datetime_format',
  '22008': 'datetime_field_overflow',
  '22012': 'division_by_zero',
  '22021': 'character_not_in_repertoire',
  '22023': 'invalid_parameter_value',
  '22P02': 'invalid_text_representation',
  '22P05': 'untranslatable_character',
  '23502': 'not_null_violation',
  '23514': 'check_violation',
};

const DATA_EXCEPTION_CLASS = /^22[0-9A-Z]{3}$/;
const CALLER_DATA_VIOLATIONS = new Set(['23502', '23514']);

export interface DataRejection {
  /** The SQLSTATE, e.g. `22021`. */
  sqlstate: string;
  /** Its condition name (`data_exception` for a class-22 code not listed above). */
  condition: string;
  /** The server's message: names the problem and the column or constraint, not the row's values. */
  message: string;
  table?: string;
  column?: string;
  constraint?: string;
}

/** What PostgreSQL refused, when `err` is a data exception or a caller-data violation; else undefined. */
export function dataRejectionOf(err: unknown): DataRejection | undefined {
  if (!err || typeof err !== 'object') return undefined;
  const { code, message, table, column, constraint } = err as Record<string, unknown>;
  if (typeof code !== 'string') return undefined;
  if (!DATA_EXCEPTION_CLASS.test(code) && !CALLER_DATA_VIOLATIONS.has(code)) return undefined;
  // `detail` (the failing row's values) is left out: it can carry personal data.
  const text = (v: unknown) => (typeof v === 'string' && v ? v : undefined);
  return {
    sqlstate: code,
    condition: CONDITIONS[code] ?? 'data_exception',
    message: String(message ?? ''),
    ...(text(table) ? { table: text(table) } : {}),
    ...(text(column) ? { column: text(column) } : {}),
    ...(text(constraint) ? { constraint: text(constraint) } : {}),
  };
}
