import { SEARCH_ATTRIBUTES } from '../../src/saga/search-attributes';
import { ensureSearchAttributes, SearchAttributesMissingError } from '../../src/temporal/search-attribute-registry';

// On a namespace the project did not create, the worker checks its search attributes at
// start-up: adds what is missing where it may, otherwise stops with what an operator must run.
// (The add path runs against the real Temporal server in temporal-server.test.ts.)

const operatorService = (existing: string[], add: () => Promise<unknown>) =>
  ({
    operatorService: {
      listSearchAttributes: async () => ({
        customAttributes: Object.fromEntries(existing.map((name) => [name, 2])),
      }),
      addSearchAttributes: add,
    },
  }) as never;

it('is satisfied when every attribute exists, without adding any', async () => {
  const add = jest.fn();
  await expect(
    ensureSearchAttributes(
      operatorService(
        SEARCH_ATTRIBUTES.map((k) => k.name),
        add,
      ),
      'ns',
    ),
  ).resolves.toBe(true);
  expect(add).not.toHaveBeenCalled();
});

it('names the missing attributes and the command to create them when it may not add them', async () => {
  const denied = () => Promise.reject(new Error('7 PERMISSION_DENIED: Request unauthorized.'));
  const attempt = ensureSearchAttributes(operatorService(['OrderId', 'CustomerId'], denied), 'payments.a1b2');
  await expect(attempt).rejects.toThrow(SearchAttributesMissingError);
  await expect(attempt).rejects.toThrow(
    /lacks the search attributes OrderStatus, OrderTotal, SagaPhase, ReturnId, ReturnStatus/,
  );
  await expect(attempt).rejects.toThrow(
    /temporal operator search-attribute create --namespace payments\.a1b2 --name OrderId --type Keyword .*--name OrderTotal --type Double/,
  );
});
