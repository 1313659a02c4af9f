/**
 * Operator notice the original had (SPEC 6): a `modes` document without `modeNum` or `modeName`
 * (or with a field that does not decode) raises one warning per document version, so the
 * operator learns of it before a schedule or an alarm needs the mode.
 */
import * as E from 'fp-ts/lib/Either.js';
import { decodeMode, withoutNulls } from '../protocol/documents.js';
import { warning } from './alerts.js';
import { stream, type ObservedOf } from './stream.js';
import { react } from './world.js';

/** Per document, the version already warned about (its JSON). */
type Warned = ReadonlyMap<string, string>;

/** What is wrong with a mode document, or undefined when nothing is. */
export function modeProblem(id: string, data: Readonly<Record<string, unknown>>): string | undefined {
  const doc = withoutNulls(data) as Record<string, unknown>;
  const missing = ['modeNum', 'modeName'].filter((field) => doc[field] === undefined);
  if (missing.length > 0) return `modes/${id} has no ${missing.join(' and no ')}; schedules and alarms cannot use it as it is`;
  const decoded = decodeMode(doc, `modes/${id}`);
  return E.isLeft(decoded) ? decoded.left.message : undefined;
}

export const modes$ = stream(['firestore.modes'], (observed$, deps) => {
  const { topics } = deps.settings;
  return observed$.pipe(
    // Stryker disable next-line StringLiteral: the stream's name, text of the crash message only (no valid or invalid input makes this step throw)
    react<Warned, ObservedOf<'firestore.modes'>>('modes', topics, new Map(), (warned, { event }) => {
      const next = new Map(warned);
      if (event.data === null) {
        next.delete(event.id);
        return [next, []];
      }
      const problem = modeProblem(event.id, event.data);
      if (problem === undefined) {
        next.delete(event.id);
        return [next, []];
      }
      const version = JSON.stringify(event.data);
      if (warned.get(event.id) === version) return [warned, []];
      return [next.set(event.id, version), warning(topics, problem)];
    }),
  );
});
