import { afterAll, afterEach } from 'vitest';
import { type CompileEvent, onCompile } from '@sdxs/core';

/**
 * The compiles a backend reports while the tests of the enclosing suite run (finished compiles only, cleared after
 * each test, listener removed after the suite): `count(label)` of one graph, `events` for the rest.
 */
export function trackCompiles(backend: string): { events: CompileEvent[]; count(label: string): number } {
  const events: CompileEvent[] = [];
  const off = onCompile((e) => {
    if (e.phase === 'end' && e.backend === backend) events.push(e);
  });
  afterEach(() => {
    events.length = 0;
  });
  afterAll(off);
  return { events, count: (label) => events.filter((e) => e.label === label).length };
}
