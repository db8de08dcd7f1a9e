import { context, propagation, ROOT_CONTEXT, trace, type Tracer } from '@opentelemetry/api';
import type * as OtlpHttp from '@opentelemetry/exporter-trace-otlp-http';
import type * as Resources from '@opentelemetry/resources';
import type * as TraceBase from '@opentelemetry/sdk-trace-base';
import type * as TraceNode from '@opentelemetry/sdk-trace-node';
import { showsPersonalData } from '../util/personal-data';
import { withoutPersonalData } from './span-scrubber';

/**
 * OpenTelemetry tracing for one process: on when OTEL_EXPORTER_OTLP_ENDPOINT (or
 * OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) is set, or when a span processor is given (tests: an
 * in-memory exporter); off otherwise, and then nothing is registered, so every span call is
 * the API's no-op and costs nothing. The OTLP exporter reads the standard OTEL_* variables
 * (headers, timeout, protocol endpoint paths) itself.
 */

export interface TracingOptions {
  /** `service.name` of every span (OTEL_SERVICE_NAME wins). */
  serviceName: string;
  /** Where spans go; default: a batching OTLP/HTTP exporter when an endpoint is configured. */
  spanProcessor?: TraceBase.SpanProcessor;
  env?: NodeJS.ProcessEnv;
}

export interface Tracing {
  enabled: boolean;
  /** Given to the Temporal worker plugin, so workflow spans take the same way out. */
  spanProcessor: TraceBase.SpanProcessor | undefined;
  resource: Resources.Resource | undefined;
  /** Flushes what is buffered; call before the process exits. */
  shutdown(): Promise<void>;
}

const OFF: Tracing = { enabled: false, spanProcessor: undefined, resource: undefined, shutdown: async () => undefined };
let active: Tracing = OFF;

export const TRACER_NAME = 'saga-orchestrator';

/** The project's tracer (a no-op one while tracing is off). */
export const tracer = (): Tracer => trace.getTracer(TRACER_NAME);

/** Whether this process traces; hot paths skip span work entirely when not. */
export const tracingEnabled = (): boolean => active.enabled;

/** This process's tracing (the worker hands its processor to the workflow span sink). */
export const activeTracing = (): Tracing => active;

export function startTracing(options: TracingOptions): Tracing {
  const env = options.env ?? process.env;
  const endpoint = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? env.OTEL_EXPORTER_OTLP_ENDPOINT;
  if (env.OTEL_SDK_DISABLED === 'true' || (!options.spanProcessor && !endpoint)) return OFF;
  // The SDK is loaded only by a process that traces (a quarter of a second of start-up otherwise).
  const { Resource } = require('@opentelemetry/resources') as typeof Resources;
  const { BatchSpanProcessor } = require('@opentelemetry/sdk-trace-base') as typeof TraceBase;
  const { OTLPTraceExporter } = require('@opentelemetry/exporter-trace-otlp-http') as typeof OtlpHttp;
  const { NodeTracerProvider } = require('@opentelemetry/sdk-trace-node') as typeof TraceNode;
  const resource = new Resource({ 'service.name': env.OTEL_SERVICE_NAME ?? options.serviceName });
  const exporting = options.spanProcessor ?? new BatchSpanProcessor(new OTLPTraceExporter());
  // Every span passes here, the workflow spans the Temporal worker exports too (`spanProcessor`).
  const spanProcessor = showsPersonalData(env) ? exporting : withoutPersonalData(exporting);
  const provider = new NodeTracerProvider({ resource, spanProcessors: [spanProcessor] });
  // Global provider, AsyncLocalStorage context manager, W3C trace context propagator.
  provider.register();
  active = {
    enabled: true,
    spanProcessor,
    resource,
    shutdown: async () => {
      await provider.shutdown();
      trace.disable();
      context.disable();
      propagation.disable();
      active = OFF;
    },
  };
  return active;
}

/** The W3C `traceparent` of the active span, to store with an event or send with a message. */
export function currentTraceparent(): string | undefined {
  if (!active.enabled) return undefined;
  const carrier: Record<string, string> = {};
  propagation.inject(context.active(), carrier);
  return carrier.traceparent;
}

/** The context a stored or received `traceparent` names (the root context when there is none). */
export function contextOf(traceparent: string | undefined) {
  return traceparent ? propagation.extract(ROOT_CONTEXT, { traceparent }) : ROOT_CONTEXT;
}
