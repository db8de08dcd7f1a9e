import type { EventDefinition } from '../events/catalog';
import type { FlowStep } from '../saga/definition';
import { eventsBy, producerActivity, sagaActivities, SAGAS, unique, type SagaFlow } from './saga-flows';

const nodeId = (prefix: string, name: string) => `${prefix}_${name.replace(/[^A-Za-z0-9]/g, '_')}`;

/** The sagas' flow as a Mermaid flowchart: steps, their events, the failure path, consumers. */
export function mermaidFlow(definitions: readonly EventDefinition[], sagas: readonly SagaFlow[] = SAGAS): string[] {
  const lines: string[] = ['```mermaid', 'flowchart LR'];
  const eventNode = (d: EventDefinition) => `${nodeId('ev', d.type)}(["${d.type}"])`;
  const stepNode = (s: FlowStep) => `${nodeId('st', s.step)}["${s.step}${s.condition ? `<br/>(${s.condition})` : ''}"]`;

  for (const saga of sagas) {
    lines.push(`  %% forward steps of ${saga.name}`);
    lines.push(`  ${saga.steps.map(stepNode).join(' --> ')}`);

    lines.push('  %% the events each step appends (same transaction as its state change)');
    for (const s of saga.steps) {
      for (const d of s.activities.flatMap((a) => eventsBy(definitions, a))) {
        lines.push(`  ${nodeId('st', s.step)} --> ${eventNode(d)}`);
      }
    }

    lines.push(`  %% failure: completed steps are undone last-in-first-out, then ${saga.final} ends the run`);
    const finalNode = nodeId('st', saga.final);
    lines.push(`  ${finalNode}["${saga.final}<br/>(${saga.finalWhen})"]`);
    const compensationEvents: EventDefinition[] = [];
    for (const s of saga.steps) {
      if (!s.undo) continue;
      for (const d of eventsBy(definitions, s.undo)) {
        lines.push(`  ${nodeId('st', s.step)} -.->|"undo: ${s.undo}"| ${eventNode(d)}`);
        compensationEvents.push(d);
      }
    }
    if (compensationEvents.length) {
      lines.push(`  ${compensationEvents.map((d) => nodeId('ev', d.type)).join(' & ')} -.-> ${finalNode}`);
    }
    for (const wait of saga.waits) lines.push(`  ${nodeId('st', wait)} -.->|"stopped while waiting"| ${finalNode}`);
    for (const d of eventsBy(definitions, saga.final)) {
      lines.push(`  ${finalNode} --> ${eventNode(d)}`);
    }
  }

  const inFlow = new Set(sagas.flatMap(sagaActivities));
  const others = definitions.filter((d) => !inFlow.has(producerActivity(d.producer)));
  if (others.length) {
    lines.push('  %% producers outside the sagas');
    for (const d of others)
      lines.push(`  ${nodeId('pr', producerActivity(d.producer))}["${d.producer}"] --> ${eventNode(d)}`);
  }

  const consumers = unique(definitions.flatMap((d) => d.consumers)).sort();
  if (consumers.length) {
    lines.push('  %% consumers (eventual: relay → broker → consumer, at-least-once, inbox dedupe)');
    for (const consumer of consumers) {
      const handled = definitions.filter((d) => d.consumers.includes(consumer));
      lines.push(
        `  ${handled.map((d) => nodeId('ev', d.type)).join(' & ')} --> ${nodeId('co', consumer)}[/"${consumer}"/]`,
      );
    }
  }

  const compensating = definitions.filter((d) => d.compensation);
  lines.push('  classDef compensation fill:#fdecea,stroke:#c0392b,color:#000');
  lines.push('  classDef consumer fill:#eaf2fb,stroke:#2e86c1,color:#000');
  if (compensating.length)
    lines.push(`  class ${compensating.map((d) => nodeId('ev', d.type)).join(',')} compensation`);
  if (consumers.length) lines.push(`  class ${consumers.map((c) => nodeId('co', c)).join(',')} consumer`);
  lines.push('```');
  return lines;
}
