import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/**
 * Custom search attributes that make orders findable in the Temporal Web UI
 * (e.g. `SagaPhase="COMPENSATION_STUCK"`). `saga dev` registers them on its dev server;
 * an external cluster needs `temporal operator search-attribute create` (docs/deployment.md).
 */
export const OrderIdKey = defineSearchAttributeKey('OrderId', SearchAttributeType.KEYWORD);
export const CustomerIdKey = defineSearchAttributeKey('CustomerId', SearchAttributeType.KEYWORD);
export const OrderStatusKey = defineSearchAttributeKey('OrderStatus', SearchAttributeType.KEYWORD);
export const OrderTotalKey = defineSearchAttributeKey('OrderTotal', SearchAttributeType.DOUBLE);
export const SagaPhaseKey = defineSearchAttributeKey('SagaPhase', SearchAttributeType.KEYWORD);

export const ReturnIdKey = defineSearchAttributeKey('ReturnId', SearchAttributeType.KEYWORD);
export const ReturnStatusKey = defineSearchAttributeKey('ReturnStatus', SearchAttributeType.KEYWORD);

export const SEARCH_ATTRIBUTES = [
  OrderIdKey,
  CustomerIdKey,
  OrderStatusKey,
  OrderTotalKey,
  SagaPhaseKey,
  ReturnIdKey,
  ReturnStatusKey,
];

const CLI_TYPE_NAMES: Record<string, string> = {
  [SearchAttributeType.KEYWORD]: 'Keyword',
  [SearchAttributeType.TEXT]: 'Text',
  [SearchAttributeType.INT]: 'Int',
  [SearchAttributeType.DOUBLE]: 'Double',
  [SearchAttributeType.BOOL]: 'Bool',
  [SearchAttributeType.DATETIME]: 'Datetime',
  [SearchAttributeType.KEYWORD_LIST]: 'KeywordList',
};

/** `--search-attribute Name=Type` arguments for `temporal server start-dev`. */
export function searchAttributeCliArgs(): string[] {
  return SEARCH_ATTRIBUTES.flatMap((k) => ['--search-attribute', `${k.name}=${CLI_TYPE_NAMES[k.type]}`]);
}
