/**
 * The emulator's replacement Listen (firestore-listen.ts) as firebase-admin sees it, for what the
 * store contract suite does not reach: queries that documents enter and leave without being
 * deleted, document watches, and watches that end.
 */
import { expect } from 'chai';
import type { App } from 'firebase-admin/app';
import type { DocumentChangeType, Firestore } from 'firebase-admin/firestore';
import { PROJECT_ID, guardLoopback, startFirestoreEmulator, type FirestoreEmulator } from './emulators.js';

/** Resolves once `check` is true (polled every 20 ms), or fails after 5 s. */
async function until(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('the Firestore emulator Listen (changes only, as the real service sends them)', function () {
  let guard: ReturnType<typeof guardLoopback>;
  let emulator: FirestoreEmulator;
  let app: App;
  let db: Firestore;

  before(async () => {
    guard = guardLoopback();
    emulator = await startFirestoreEmulator();
    const { initializeApp } = await import('firebase-admin/app');
    const { getFirestore } = await import('firebase-admin/firestore');
    app = initializeApp({ projectId: PROJECT_ID }, `firestore-listen-${process.pid}`);
    db = getFirestore(app);
    db.settings({ host: emulator.host, ssl: false });
  });
  after(async () => {
    const { deleteApp } = await import('firebase-admin/app');
    await deleteApp(app);
    await emulator.stop();
    guard.restore();
  });
  beforeEach(() => emulator.clear());

  it('a query: documents that enter it, change, leave it or are deleted', async () => {
    await db.doc('rooms/a').set({ on: true, n: 1 });
    await db.doc('rooms/z').set({ on: false });
    const snapshots: Array<Array<[DocumentChangeType, string, unknown]>> = [];
    const unwatch = db.collection('rooms').where('on', '==', true).onSnapshot((s) => {
      snapshots.push(s.docChanges().map((c) => [c.type, c.doc.id, c.doc.data().n]));
    });
    try {
      await until(() => snapshots.length === 1, 'the first snapshot');
      await db.doc('rooms/b').set({ on: true, n: 2 });
      await until(() => snapshots.length === 2, 'b');
      await db.doc('rooms/b').set({ on: true, n: 3 });
      await until(() => snapshots.length === 3, 'b changed');
      await db.doc('rooms/a').set({ on: false, n: 1 });
      await until(() => snapshots.length === 4, 'a leaving');
      await db.doc('rooms/b').delete();
      await until(() => snapshots.length === 5, 'b deleted');
      expect(snapshots).to.deep.equal([
        [['added', 'a', 1]],
        [['added', 'b', 2]],
        [['modified', 'b', 3]],
        [['removed', 'a', 1]],
        [['removed', 'b', 3]],
      ]);
    } finally {
      unwatch();
    }
  });

  it('the writes of one batch come as one snapshot', async () => {
    const snapshots: number[] = [];
    const unwatch = db.collection('rooms').onSnapshot((s) => snapshots.push(s.docChanges().length));
    try {
      await until(() => snapshots.length === 1, 'the first snapshot');
      const batch = db.batch();
      for (let i = 0; i < 50; i++) batch.set(db.doc(`rooms/r${i}`), { i });
      await batch.commit();
      await until(() => snapshots.length === 2, 'the batch');
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(snapshots).to.deep.equal([0, 50]);
    } finally {
      unwatch();
    }
  });

  it('a document: missing, created, changed, deleted', async () => {
    const seen: unknown[] = [];
    const unwatch = db.doc('rooms/d').onSnapshot((s) => seen.push(s.exists ? s.data() : null));
    try {
      await until(() => seen.length === 1, 'the first snapshot');
      await db.doc('rooms/other').set({ n: 0 });
      await db.doc('rooms/d').set({ n: 1 });
      await until(() => seen.length === 2, 'the creation');
      await db.doc('rooms/d').set({ n: 2 }, { merge: true });
      await until(() => seen.length === 3, 'the change');
      await db.doc('rooms/d').delete();
      await until(() => seen.length === 4, 'the deletion');
      expect(seen).to.deep.equal([null, { n: 1 }, { n: 2 }, null]);
    } finally {
      unwatch();
    }
  });

  it('serves a watch only while its client keeps it', async () => {
    expect(emulator.listeners()).to.equal(0);
    const unwatch = db.collection('rooms').onSnapshot(() => undefined);
    await until(() => emulator.listeners() === 1, 'the watch');
    unwatch();
    await until(() => emulator.listeners() === 0, 'the watch to end');
    expect(guard.violations).to.deep.equal([]);
  });
});
