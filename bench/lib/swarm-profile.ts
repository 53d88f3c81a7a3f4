/**
 * Reads a V8 `.cpuprofile` (from `node --cpu-prof`) and sums self time per function, for the
 * swarm benchmark's `--profile` run: which functions the warren seeder and leecher spend their
 * time in.
 */
import { readFile } from 'node:fs/promises';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** Self time of one function (all its profile nodes together). */
export interface SelfTime {
  name: string;
  ms: number;
  percent: number;
}

function label(frame: ProfileNode['callFrame']): string {
  const file = frame.url.replace(/^file:\/\//, '').replace(/^.*\/dist\//, '').replace(/^node:/, 'node:');
  const name = frame.functionName || '(anonymous)';
  return file ? `${name} ${file}:${frame.lineNumber + 1}` : name;
}

/** Self time per function, largest first, with its share of all samples (idle included). */
export async function selfTimes(path: string): Promise<{ totalMs: number; rows: SelfTime[] }> {
  const profile = JSON.parse(await readFile(path, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const ms = new Map<string, number>();
  let totalMs = 0;
  profile.samples.forEach((id, i) => {
    const dt = (profile.timeDeltas[i] ?? 0) / 1000;
    totalMs += dt;
    const key = label(byId.get(id)!.callFrame);
    ms.set(key, (ms.get(key) ?? 0) + dt);
  });
  const rows = [...ms.entries()].map(([name, t]) => ({ name, ms: t, percent: (100 * t) / totalMs })).sort((a, b) => b.ms - a.ms);
  return { totalMs, rows };
}
