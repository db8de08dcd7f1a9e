/**
 * Fields that name a person or open their account: the customer, where they live, their card
 * token, and the credentials of a request. Logs redact them and spans drop them, unless
 * `LOG_PERSONAL_DATA=true` (debugging only).
 */
export const PERSONAL_FIELDS = [
  'customerId',
  'customer_id',
  'shippingAddress',
  'paymentToken',
  'token',
  'authorization',
  'cookie',
  'x-api-key',
] as const;

/** `LOG_PERSONAL_DATA=true`: logs and spans keep personal fields as they are. */
export const showsPersonalData = (env: NodeJS.ProcessEnv = process.env): boolean => env.LOG_PERSONAL_DATA === 'true';

const normal = (name: string) => name.toLowerCase().replace(/[-_]/g, '');
const PERSONAL = new Set<string>(PERSONAL_FIELDS.map(normal));

/** Whether a key (`customerId`, `saga.customer_id`, `http.request.header.x-api-key` …) names a personal field. */
export const isPersonalKey = (key: string): boolean => PERSONAL.has(normal(key.split('.').at(-1)!));
