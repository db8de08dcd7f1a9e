// Bundle entry for the worker: every workflow type is exported from here.
export * from './order-saga';
export * from './return-saga';
