import { readFileSync } from 'node:fs';
import path from 'node:path';
import * as api from '../../src';
import * as workflow from '../../src/workflow';

// The entry points a team builds on: the Node side and the workflow side, kept apart so
// workflow code never pulls database or HTTP modules into the deterministic sandbox.

test('the main entry point exports what a team needs to add consumers, adapters and processes', () => {
  for (const name of [
    'definePlugin',
    'registeredConsumers',
    'registeredSagas',
    'replayHistoryFiles',
    'z',
    'defineConsumer',
    'startDelivery',
    'activityDeps',
    'PAYMENT_ADAPTERS',
    'CARRIER_ADAPTERS',
    'PaymentDeclinedError',
    'TransientError',
    'EVENT_DEFINITIONS',
    'upcastToLatest',
    'appendToStream',
    'readStream',
    'currentStreamVersion',
    'createPool',
    'executeOnce',
    'withTransaction',
    'createWorker',
    'encryptionDataConverter',
    'parsePayloadKeys',
    'createTemporalClient',
    'explore',
    'scenariosOf',
    'formatMatrix',
    'buildApp',
    'loadConfig',
  ]) {
    expect({ name, exported: name in api }).toEqual({ name, exported: true });
  }
});

test('the workflow entry point exports saga tables, their runtime and the Saga helper, importing only workflow-safe modules', () => {
  expect(typeof workflow.defineSaga).toBe('function');
  expect(typeof workflow.SagaRun).toBe('function');
  expect(typeof workflow.Saga).toBe('function');
  expect(workflow.retryCompensationSignal.name).toBe('retryCompensation');
  expect(workflow.retryStepSignal.name).toBe('retryStep');
  expect(workflow.abandonStepSignal.name).toBe('abandonStep');
  const sources = [
    'src/workflow.ts',
    'src/saga/definition.ts',
    'src/saga/runtime.ts',
    'src/saga/saga.ts',
    'src/saga/compensations.ts',
  ].map((f) => readFileSync(path.resolve(__dirname, '../..', f), 'utf8'));
  const imports = sources.flatMap((s) => [...s.matchAll(/from '([^']+)'/g)].map((m) => m[1]!));
  for (const specifier of imports) {
    const safe =
      specifier.startsWith('.') || specifier === '@temporalio/workflow' || specifier === '@temporalio/common';
    expect({ specifier, safe }).toEqual({
      specifier,
      safe: true,
    });
  }
});
