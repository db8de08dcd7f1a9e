/**
 * The revision of the workflow code's observable behaviour (its commands, and the shape of its
 * signals, updates and activity inputs). Bump it whenever such a change is released, and
 * record the paths again: histories are kept per revision under test/replay/histories/r<N>/
 * and every revision keeps replaying (docs/versioning.md).
 *
 * r1: the order saga as first released.
 * r2: approve/reject/cancel updates carry who acts (`decidedBy` / `requestedBy`), passed to the
 *     approveOrder and cancelOrder activities (compatible: r1 histories replay unchanged).
 * r3: sagas declared as tables run by SagaRun: forward steps carry schedule-to-close deadlines
 *     that compensate or escalate (retryStep / abandonStep signals, `stuckStep` in the status);
 *     the second saga, returnSaga. Same commands in the same order for every r1/r2 path (they
 *     replay unchanged); r3 adds the deadline and return paths.
 * r4: the stop activity cancelOrder also receives the saga's customerId, so a saga whose
 *     createOrder never succeeded ends CANCELLED with order.placement_failed instead of failing
 *     on "the order does not exist"; likewise cancelReturn receives the saga's orderId and
 *     customerId, so a return saga whose openReturn never succeeded ends with return.not_opened
 *     instead of no event at all. The return's refund, restock and completion are retriable
 *     steps (past its pivot): a business error there parks the saga for an operator's retry
 *     instead of compensating, and an abandon signal there is ignored. Same commands for every
 *     recorded path (r1–r3 replay unchanged); r4 adds the first-step paths.
 */
export const WORKFLOW_REVISION = 4;
