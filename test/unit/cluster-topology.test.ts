import { DEFAULT_SHAPE, processSpecs, topologyPorts } from '../../src/cluster/topology';
import { FAULT_KINDS, faultSlots, partOf } from '../../chaos/faults';
import { EXPECTED, ORDER_KINDS, orderBody, orderMix, seededRandom, shuffled } from '../../chaos/orders';

describe('cluster topology', () => {
  it('runs 2 workers, 2 API replicas, relay + standby and 2 consumer instances by default', () => {
    const specs = processSpecs({ shape: DEFAULT_SHAPE, transport: 'rabbitmq', apiPort: 3000 });
    expect(specs.map((s) => s.name)).toEqual([
      'api-1',
      'api-2',
      'worker-1',
      'worker-2',
      'relay-1',
      'relay-2',
      'consume-1',
      'consume-2',
    ]);
    // API replicas above the front door, then one probe port per other role.
    expect(specs.filter((s) => s.role === 'api').map((s) => s.env)).toEqual([
      { PORT: '3001', HOST: '127.0.0.1' },
      { PORT: '3002', HOST: '127.0.0.1' },
    ]);
    expect(specs.find((s) => s.name === 'consume-2')!.env).toEqual({ HEALTH_PORT: '3008' });
    expect(new Set(topologyPorts({ shape: DEFAULT_SHAPE, transport: 'nats', apiPort: 3000 })).size).toBe(8);
    expect(specs.every((s) => s.readyUrl.endsWith('/health/ready'))).toBe(true);
  });

  it('runs no relay when consumers read the events table, and refuses impossible shapes', () => {
    const specs = processSpecs({ shape: DEFAULT_SHAPE, transport: 'postgres', apiPort: 3000 });
    expect(specs.some((s) => s.role === 'relay')).toBe(false);
    expect(() => processSpecs({ shape: { ...DEFAULT_SHAPE, workers: 0 }, transport: 'nats', apiPort: 1 })).toThrow(
      RangeError,
    );
    expect(() => processSpecs({ shape: { ...DEFAULT_SHAPE, apis: 1.5 }, transport: 'nats', apiPort: 1 })).toThrow(
      /apis must be 0..16/,
    );
  });
});

describe('chaos order mix', () => {
  it('covers every kind evenly and repeats from its seed', () => {
    const mix = orderMix(24, seededRandom(7));
    for (const kind of ORDER_KINDS) expect(mix.filter((k) => k === kind)).toHaveLength(3);
    expect(orderMix(24, seededRandom(7))).toEqual(mix);
    expect(orderMix(24, seededRandom(8))).not.toEqual(mix);
    expect(shuffled([1, 2, 3], seededRandom(1)).sort()).toEqual([1, 2, 3]);
  });

  it('builds inputs that call for the expected outcome', () => {
    expect(orderBody('soldOut', 'c').items[0]!.sku).toBe('SKU-SOLDOUT');
    expect(orderBody('declined', 'c').payment.token).toBe('tok_chargeDeclined');
    expect(orderBody('refusedAddress', 'c').shippingAddress.postalCode).toBe('00000');
    // SKU-0001 costs 9.99: 10 go over the suite's 50.00 threshold and wait for a decision; 2 do not.
    for (const kind of ORDER_KINDS) {
      expect(orderBody(kind, 'c').items[0]!.quantity * 999 > 5_000).toBe(EXPECTED[kind].decision !== undefined);
    }
  });
});

describe('chaos fault schedule', () => {
  it('pairs every third slot with a fault of another part, keeping every fault once', () => {
    for (const seed of [1, 2, 3, 20261203]) {
      const kinds = shuffled(FAULT_KINDS, seededRandom(seed));
      const slots = faultSlots(kinds);
      expect(slots.flat().sort()).toEqual([...FAULT_KINDS].sort());
      // Every third slot a pair (the last may find only its own part left, and stay single).
      expect([slots[2]!.length, slots[5]!.length]).toEqual([2, 2]);
      for (const [i, slot] of slots.entries()) if ((i + 1) % 3 !== 0) expect(slot).toHaveLength(1);
      for (const pair of slots.filter((s) => s.length === 2)) expect(partOf(pair[0]!)).not.toBe(partOf(pair[1]!));
    }
    // Nothing of another part left to pair with: the slot stays single.
    expect(faultSlots(['postgres', 'hang-postgres', 'hang-postgres'])).toEqual([
      ['postgres'],
      ['hang-postgres'],
      ['hang-postgres'],
    ]);
  });
});
