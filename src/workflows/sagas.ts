import { ORDER_SAGA } from './order-saga';
import { RETURN_SAGA } from './return-saga';

/** The project's saga tables (metrics, docs and tools read them; the bundle entry is index.ts). */
export const SAGA_TABLES = [ORDER_SAGA, RETURN_SAGA] as const;
