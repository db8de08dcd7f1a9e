import type { FastifyInstance } from 'fastify';
import type { ResolvedApiDeps } from '../../deps';
import { orderDecisionRoutes } from './decisions';
import { ordersLiveRoute } from './live';
import { placeOrderRoute } from './place';
import { orderReadRoutes } from './read';
import { orderStoryRoutes } from './story';

/** Every route of the orders resource: placing, reading, deciding, the story and the live stream. */
export function orderRoutes(app: FastifyInstance, deps: ResolvedApiDeps): void {
  placeOrderRoute(app, deps);
  orderReadRoutes(app, deps);
  orderDecisionRoutes(app, deps);
  orderStoryRoutes(app, deps);
  ordersLiveRoute(app, deps);
}
