import type { ConnectionLike } from '@temporalio/client';

type Connection = Pick<ConnectionLike, 'operatorService'>;
import { encodeSearchAttributeIndexedValueType } from '@temporalio/common/lib/search-attributes';
import { SEARCH_ATTRIBUTES, searchAttributeCliArgs } from '../saga/search-attributes';

/** The namespace lacks search attributes the sagas upsert, and they could not be added. */
export class SearchAttributesMissingError extends Error {
  override readonly name = 'SearchAttributesMissingError';
}

/**
 * Makes sure the namespace has the project's search attributes (src/saga/search-attributes.ts):
 * adds the missing ones where the caller may, and otherwise throws an error naming them and
 * the command an operator runs. A saga whose upsert names an unknown attribute would fail
 * its workflow tasks; this catches it at start-up instead.
 * Resolves true once all are there (a just-added attribute may take a moment to be listed).
 */
export async function ensureSearchAttributes(connection: Connection, namespace: string): Promise<boolean> {
  const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace });
  const missing = SEARCH_ATTRIBUTES.filter((k) => !(customAttributes ?? {})[k.name]);
  if (missing.length === 0) return true;
  try {
    await connection.operatorService.addSearchAttributes({
      namespace,
      searchAttributes: Object.fromEntries(
        missing.map((k) => [k.name, encodeSearchAttributeIndexedValueType(k.type)!]),
      ),
    });
    return false;
  } catch (err) {
    const args = searchAttributeCliArgs()
      .join(' ')
      .replace(/--search-attribute (\w+)=(\w+)/g, '--name $1 --type $2');
    throw new SearchAttributesMissingError(
      `Namespace ${namespace} lacks the search attributes ${missing.map((k) => k.name).join(', ')} and they could not be added (${(err as Error).message}). ` +
        `Ask an operator to run: temporal operator search-attribute create --namespace ${namespace} ${args}`,
    );
  }
}

/** `ensureSearchAttributes`, waiting (up to `timeoutMs`) for attributes it added to be listed. */
export async function verifySearchAttributes(
  connection: Connection,
  namespace: string,
  timeoutMs = 15_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await ensureSearchAttributes(connection, namespace))) {
    if (Date.now() > deadline) {
      throw new SearchAttributesMissingError(`Search attributes added to namespace ${namespace} are still not listed`);
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}
