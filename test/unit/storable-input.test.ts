import { unstorableFields, unstorableReason } from '../../src/api/storable-input';

describe('unstorable input', () => {
  it('finds NUL and unpaired surrogates, and lets paired ones (emoji) and other text through', () => {
    expect(unstorableReason('a\u0000b')).toMatch(/NUL/);
    expect(unstorableReason('\ud800')).toMatch(/surrogate/);
    expect(unstorableReason('x\udc00')).toMatch(/surrogate/);
    expect(unstorableReason('\ud83d\ude00 ok\t\n\u0001')).toBeNull();
  });

  it('names every field as the API does: prefixed, nested, keys included, bodies bare', () => {
    const body = JSON.parse('{"customerId":"a\\u0000b","items":[{"sku":"\\ud800"}],"ok":"x","k\\u0000":1}');
    expect(unstorableFields(body).sort((a, b) => a.field.localeCompare(b.field))).toEqual([
      { field: 'customerId', message: 'must not contain NUL characters' },
      { field: 'items.0.sku', message: 'must not contain unpaired UTF-16 surrogates' },
      { field: 'k\ufffd', message: 'name must not contain NUL characters' },
    ]);
    expect(unstorableFields({ correlationId: '\u0000' }, 'params')).toEqual([
      { field: 'params.correlationId', message: 'must not contain NUL characters' },
    ]);
    expect(unstorableFields('\u0000')).toEqual([{ field: '(body)', message: 'must not contain NUL characters' }]);
    expect(unstorableFields({ a: ['fine', { b: 1 }] })).toEqual([]);
  });
});
