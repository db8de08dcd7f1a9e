// Bundle entry for the worker: every workflow type is exported from here.
export { orderSaga } from './order-saga';
export type { OrderSagaInput, OrderSagaResult } from './order-saga';
