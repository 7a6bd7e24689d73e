// What the crm script and the CIB say about the parts that have no Pacemaker form: the same
// sentences in both, as comment lines.
import type { PacemakerModel } from './model';

export function problemLines(m: PacemakerModel): string[] {
  return m.problems.flatMap((p) => [
    `NOT EXPORTED haresources:${p.line}: ${p.group}`,
    `  resource [${p.text}]: ${p.reason}`,
    `  instead: ${p.instead}`,
  ]);
}

export function headerLines(m: PacemakerModel, source: string): string[] {
  return [
    `Pacemaker resources of the haresources cluster "${m.clusterName}", made by hbd export pacemaker from ${source}.`,
    'Each haresources line is a group (started left to right, stopped right to left, on one node)',
    `with a location preference (score ${m.locationScore}) for its node; auto_failback is resource-stickiness ${m.stickiness}.`,
    'stonith-enabled=false: heartbeat haresources clusters have no fencing; configure fencing before production use.',
    ...m.notes,
  ];
}
