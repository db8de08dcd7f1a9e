import { Client, Connection } from '@temporalio/client';
import { correlationClientInterceptor } from '../correlation/client-interceptor';

export interface TemporalClientOptions {
  address: string;
  namespace: string;
}

/** Connects a Temporal client; close it with `client.connection.close()`. */
export async function createTemporalClient(options: TemporalClientOptions): Promise<Client> {
  const connection = await Connection.connect({ address: options.address });
  return new Client({
    connection,
    namespace: options.namespace,
    interceptors: { workflow: [correlationClientInterceptor()] },
  });
}
