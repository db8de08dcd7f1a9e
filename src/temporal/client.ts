import { Client, Connection, type ConnectionOptions } from '@temporalio/client';
import type { DataConverter } from '@temporalio/common';
import { OpenTelemetryWorkflowClientInterceptor } from '@temporalio/interceptors-opentelemetry/lib/client';
import { correlationClientInterceptor } from '../correlation/client-interceptor';
import { tracingEnabled } from '../telemetry/tracing';

export interface TemporalClientOptions {
  address: string;
  namespace: string;
  /** TLS, API key, gRPC metadata (see `temporalConnectOptions`). Default: none. */
  connection?: Pick<ConnectionOptions, 'tls' | 'apiKey' | 'metadata'>;
  /** The payload encryption every client and worker shares (`encryptionDataConverter`). */
  dataConverter: DataConverter;
}

/** Connects a Temporal client; close it with `client.connection.close()`. */
export async function createTemporalClient(options: TemporalClientOptions): Promise<Client> {
  const { tls, apiKey, metadata } = options.connection ?? {};
  const connection = await Connection.connect({ address: options.address, tls, apiKey, metadata });
  return new Client({
    connection,
    namespace: options.namespace,
    dataConverter: options.dataConverter,
    // With tracing on, starts, signals, queries and updates continue the caller's trace.
    interceptors: {
      workflow: [
        ...(tracingEnabled() ? [new OpenTelemetryWorkflowClientInterceptor()] : []),
        correlationClientInterceptor(),
      ],
    },
  });
}
