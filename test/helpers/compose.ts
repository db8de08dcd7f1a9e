import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';

/** Reading docker-compose.yml in static tests: services, variables, images, mounts and ports. */

export const ROOT = path.resolve(__dirname, '../..');
export const readRepoFile = (file: string): string => readFileSync(path.join(ROOT, file), 'utf8');

export type Environment = Record<string, string | number | boolean | null> | string[];
export type Port = string | number | { target?: number | string; published?: number | string };
export type Volume = string | { type?: string; source?: string; target?: string; read_only?: boolean };

export interface Service {
  image?: string;
  build?: string | { context?: string; dockerfile?: string };
  command?: string | string[];
  entrypoint?: string | string[];
  environment?: Environment;
  ports?: Port[];
  expose?: (string | number)[];
  depends_on?: string[] | Record<string, { condition?: string }>;
  healthcheck?: { test?: string | string[] };
  volumes?: Volume[];
  deploy?: { replicas?: number };
}

export interface ComposeFile {
  version?: unknown;
  services?: Record<string, Service>;
  volumes?: Record<string, unknown>;
}

// `merge: true` resolves the `<<: *anchor` keys that Compose supports.
export const compose = parse(readRepoFile('docker-compose.yml'), { merge: true }) as ComposeFile;
export const services: Record<string, Service> = compose.services ?? {};

export function service(name: string): Service {
  const found = services[name];
  if (!found) throw new Error(`docker-compose.yml has no service "${name}"`);
  return found;
}

/** A variable's value, from the map or the list (`NAME=value`) form; undefined when unset. */
export function envValue(svc: Service, name: string): string | undefined {
  const env = svc.environment;
  if (!env) return undefined;
  if (Array.isArray(env)) {
    const entry = env.find((e) => e.split('=')[0] === name);
    return entry === undefined ? undefined : entry.slice(name.length + 1);
  }
  const value = env[name];
  return value === undefined || value === null ? undefined : String(value);
}

/** Repository and tag of an image reference ("temporalio/ui:2.42.1"); tag '' when none. */
export function imageParts(image: string | undefined): { repository: string; tag: string } {
  const ref = (image ?? '').split('@')[0]!;
  const colon = ref.lastIndexOf(':');
  return colon > ref.lastIndexOf('/')
    ? { repository: ref.slice(0, colon), tag: ref.slice(colon + 1) }
    : { repository: ref, tag: '' };
}

/** Bind mounts (sources starting with . or /) as host path (resolved from the project), container path, read-only. */
export function bindMounts(svc: Service): { source: string; target: string; readOnly: boolean }[] {
  return (svc.volumes ?? []).flatMap((v) => {
    if (typeof v === 'object') {
      return v.type === 'bind' && v.source && v.target
        ? [{ source: path.resolve(ROOT, v.source), target: v.target, readOnly: v.read_only === true }]
        : [];
    }
    const [source, target, mode] = v.split(':');
    if (!source || !target || !(source.startsWith('.') || source.startsWith('/'))) return [];
    return [{ source: path.resolve(ROOT, source), target, readOnly: (mode ?? '').split(',').includes('ro') }];
  });
}

/** The container port a service publishes on `host`, from short or long syntax. */
export function targetPort(svc: Service, host: number): number | undefined {
  for (const port of svc.ports ?? []) {
    if (typeof port === 'object') {
      if (Number(port.published) === host) return Number(port.target);
      continue;
    }
    const fields = String(port).split('/')[0]!.split(':');
    if (fields.length >= 2 && Number(fields[fields.length - 2]) === host) return Number(fields[fields.length - 1]);
  }
  return undefined;
}
