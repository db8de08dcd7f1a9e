import type { TransportKind } from '../delivery/contract';

/**
 * The production-like topology as data: which of our roles run, how many of each, on which
 * ports. `saga cluster up` starts it on this machine; docker-compose.yml describes the same
 * processes for containers (test/unit/docker-compose.test.ts keeps the two in step).
 */

export type Role = 'worker' | 'api' | 'relay' | 'consume';
/** Processes of the topology that are not our roles. */
export type Auxiliary = 'temporal-ui';

/** Replicas per role. */
export interface ClusterShape {
  workers: number;
  apis: number;
  /** One active relay, the others hot standbys (advisory lock). None with TRANSPORT=postgres. */
  relays: number;
  /** Consumer instances; each consumer's partitions are shared among them. */
  consumers: number;
}

export const DEFAULT_SHAPE: ClusterShape = { workers: 2, apis: 2, relays: 2, consumers: 2 };

export interface ProcessSpec {
  /** Unique per process: `worker-1`, `api-2` … */
  name: string;
  role: Role | Auxiliary;
  /** A program to run instead of `saga` (the Temporal UI server). */
  program?: string;
  /** `saga` arguments (or the program's). */
  args: string[];
  /** Variables this process gets on top of the cluster's environment. */
  env: Record<string, string>;
  /** Readiness probe: 200 when the process takes work. */
  readyUrl: string;
}

export interface TopologyOptions {
  shape: ClusterShape;
  transport: TransportKind;
  /**
   * The front door's port. API replicas listen on the next ports up (apiPort+1 …), then the
   * probe servers of the other roles, in the order workers, relays, consumers.
   */
  apiPort: number;
}

/** The ports the topology takes besides the front door: API replicas, then probes. */
export function topologyPorts(options: TopologyOptions): number[] {
  return processSpecs(options).map((p) => Number(new URL(p.readyUrl).port));
}

export function processSpecs(options: TopologyOptions): ProcessSpec[] {
  const { shape } = options;
  for (const [key, n] of Object.entries(shape)) {
    if (!Number.isInteger(n) || n < 0 || n > 16) throw new RangeError(`${key} must be 0..16, not ${n}`);
  }
  if (shape.workers < 1 || shape.apis < 1) throw new RangeError('a cluster needs at least one worker and one API');
  let next = options.apiPort + 1;
  const specs: ProcessSpec[] = [];
  const add = (role: Role, count: number, args: string[], portVariable: 'PORT' | 'HEALTH_PORT') => {
    for (let i = 1; i <= count; i++) {
      const port = next++;
      specs.push({
        name: `${role}-${i}`,
        role,
        args,
        env: portVariable === 'PORT' ? { PORT: String(port), HOST: '127.0.0.1' } : { HEALTH_PORT: String(port) },
        readyUrl: `http://127.0.0.1:${port}/health/ready`,
      });
    }
  };
  add('api', shape.apis, ['api'], 'PORT');
  add('worker', shape.workers, ['worker'], 'HEALTH_PORT');
  // Events go straight from the table to consumers without a broker: nothing to relay.
  add('relay', options.transport === 'postgres' ? 0 : shape.relays, ['relay'], 'HEALTH_PORT');
  add('consume', shape.consumers, ['consume'], 'HEALTH_PORT');
  return specs;
}
