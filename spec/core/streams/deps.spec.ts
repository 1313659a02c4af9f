import { filter } from 'rxjs';
import { commands$ } from '../../../lib/core/streams/server-commands.js';
import { DEFAULT_TOPICS } from '../../../lib/core/protocol/topics.js';
import type { Event } from '../../../lib/core/protocol/events.js';
import { observe } from '../../../lib/core/streams/world.js';
import { command, makeDeps, testScheduler } from '../../support/marbles.js';

describe('streams/deps: the default Producer table (SPEC 4)', () => {
  const schedule = { title: 'wake', enabled: true, startTime: '0730', repeat: true, daysOfWeek: [false, true, true, true, true, true, false] };

  for (const Producer of ['car', 'android']) {
    it(`lets the ${Producer} add and delete schedules (no producers setting: the default table)`, () => {
      const ts = testScheduler();
      ts.run(({ hot, expectObservable }) => {
        const event$ = hot<Event>('-a-d-', { a: command({ Producer, command: 'add_schedule', ...schedule }), d: command({ Producer, command: 'delete_schedule', title: 'wake' }) });
        const written$ = commands$(event$.pipe(observe(DEFAULT_TOPICS)), makeDeps(ts)).pipe(filter((e) => e.type.startsWith('firestore.')));
        expectObservable(written$).toBe('-s-x-', {
          s: { type: 'firestore.set', collection: 'schedule_mode', id: 'wake', data: schedule },
          x: { type: 'firestore.delete', collection: 'schedule_mode', id: 'wake' },
        });
      });
    });
  }
});
