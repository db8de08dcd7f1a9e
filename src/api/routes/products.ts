import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { listProducts } from '../../store/catalog';
import type { ApiDeps } from '../deps';
import { problems } from '../schemas';

const productSchema = z.object({
  sku: z.string(),
  name: z.string(),
  priceCents: z.number().int(),
  stock: z.number().int(),
});

export function productRoutes(fastify: FastifyInstance, deps: ApiDeps): void {
  const app = fastify.withTypeProvider<ZodTypeProvider>();

  app.get(
    '/products',
    {
      config: { access: 'public' },
      schema: {
        tags: ['orders'],
        summary: 'The product catalog with price and stock',
        response: { 200: z.object({ products: z.array(productSchema) }), ...problems(429, 500) },
      },
    },
    async () => ({ products: await listProducts(deps.pool) }),
  );
}
