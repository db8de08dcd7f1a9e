import Fastify from 'fastify';
import { registerAudit, UnauditedRouteError } from '../../src/api/audit';
import { registerAuth } from '../../src/api/auth';
import { buildApp } from '../../src/api/app';
import type { Pool } from '../../src/store/pool';

// Every operator action is audited by construction: an operator POST without `config.audit`
// does not start.

describe('audit of operator routes', () => {
  it('refuses to start an operator POST route that declares no audit', async () => {
    const app = Fastify();
    registerAuth(app, []);
    registerAudit(app, {} as Pool);
    const register = () => app.post('/forgotten', { config: { access: 'operator' } }, async () => ({}));
    expect(register).toThrow(UnauditedRouteError);
    expect(register).toThrow('Operator route POST /forgotten declares no config.audit');
    // Audited, it registers.
    app.post(
      '/audited',
      { config: { access: 'operator', audit: { action: 'x', targetType: 'order' } } },
      async () => ({}),
    );
    await app.ready();
    await app.close();
  });

  it("every one of the API's operator routes declares its audit", async () => {
    // Builds without servers: nothing is called until a request arrives.
    const app = buildApp({
      pool: {} as Pool,
      temporal: {} as never,
      taskQueue: 'unit',
      orders: { approvalThresholdCents: 1, approvalTimeout: '1h' },
    });
    await expect(app.ready()).resolves.toBeDefined();
    await app.close();
  });
});
