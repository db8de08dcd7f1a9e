import { ApplicationFailure } from '@temporalio/common';
import { DATA_REJECTED, toActivityFailure } from '../../src/activities/failures';
import { dataRejectionOf } from '../../src/store/rejected-data';

/** A pg DatabaseError's fields as the driver sets them. */
const pgError = (code: string, extra: Record<string, string> = {}) =>
  Object.assign(new Error(`error ${code}`), { code, detail: 'Failing row contains (secret-customer).', ...extra });

describe('dataRejectionOf', () => {
  it.each([
    ['22021', 'character_not_in_repertoire'],
    ['22P05', 'untranslatable_character'],
    ['22001', 'string_data_right_truncation'],
    ['22P02', 'invalid_text_representation'],
    ['22000', 'data_exception'],
    ['23502', 'not_null_violation'],
    ['23514', 'check_violation'],
  ])('%s is refused data (%s), retried in vain', (code, condition) => {
    expect(dataRejectionOf(pgError(code, { table: 'orders', column: 'customer_id' }))).toEqual({
      sqlstate: code,
      condition,
      message: `error ${code}`,
      table: 'orders',
      column: 'customer_id',
    });
  });

  it.each([
    ['23505', 'unique violation: how duplicates and stale stream versions are detected'],
    ['23503', 'foreign-key violation: can be a race'],
    ['40001', 'serialization failure'],
    ['08006', 'connection failure'],
    ['P0001', 'raised by a trigger'],
    ['ECONNRESET', 'a Node socket error'],
  ])('%s is not (%s)', (code) => {
    expect(dataRejectionOf(pgError(code))).toBeUndefined();
  });

  it('ignores what is not a database error', () => {
    for (const err of [undefined, null, 'text', new Error('plain'), { code: 22021 }]) {
      expect(dataRejectionOf(err)).toBeUndefined();
    }
  });
});

describe('toActivityFailure of refused data', () => {
  it('is a non-retryable DataRejected naming the SQLSTATE, without the row values of `detail`', () => {
    const failure = toActivityFailure(pgError('22021')) as ApplicationFailure;
    expect(failure).toBeInstanceOf(ApplicationFailure);
    expect(failure).toMatchObject({ type: DATA_REJECTED, nonRetryable: true });
    expect(failure.message).toBe(
      'PostgreSQL refused the data (SQLSTATE 22021 character_not_in_repertoire): error 22021',
    );
    expect(JSON.stringify(failure.details)).not.toContain('secret-customer');
  });

  it('leaves a unique violation as it is (Temporal retries it)', () => {
    const err = pgError('23505');
    expect(toActivityFailure(err)).toBe(err);
  });
});
