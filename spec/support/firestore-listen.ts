/**
 * The Firestore emulator of `@firestore-emulator/server` with its Listen (onSnapshot) stream
 * answered the way the real Firestore answers it: the whole result once, then only what changed.
 *
 * Why: the package's own Listen (0.3.15, `FirestoreState#v1Listen`) answers every write to any
 * document of any collection by re-running the query of every listener and re-sending its whole
 * result (a RESET and one message per document) without waiting for the client to read, so a
 * collection that grows to n documents one write at a time costs each listener n²/2 messages
 * (and O(n²) path comparisons per write), all queued in the test process's heap; and it kept
 * serving the watches of clients that were killed (the SIGKILL drills kill five services: the
 * drill's check that no watch is left after the last service stopped fails with it). The crash
 * drill's 3,000 sign-ups ran that heap out of 4 GB in about 7 minutes; with this Listen they take
 * about 30 s and 300 MB (600: 18 s and 320 MB before, 16 s and 200 MB after).
 *
 * What this changes, and nothing else (every other RPC is the package's `FirestoreServiceV1Impl`
 * on the package's `FirestoreState`): a Listen stream sends, per target, ADD, the documents that
 * match, CURRENT and a global NO_CHANGE (as the package does); then, for the writes of one turn
 * of the event loop that touch the target's collection (or its documents), only the documents that
 * entered or changed (`document_change`), left the query (`document_remove`) or were deleted
 * (`document_delete`), and one global NO_CHANGE: what firebase-admin's watch expects of the
 * real service (it applies changes on top of its current view and raises a snapshot at NO_CHANGE).
 * A stream's watches end when the client ends it, cancels it, or its connection dies. Like the
 * package, it sends no resume tokens (a client that reconnects gets the whole result again) and
 * times are milliseconds (two writes to one document in one millisecond look like one to the
 * client, which compares update times).
 */
import type * as Grpc from '@grpc/grpc-js';
import type { ServerDuplexStream, UntypedServiceImplementation } from '@grpc/grpc-js';
import { createRequire } from 'node:module';
import { FirestoreState, TimestampFromNow, type FirestoreStateDocument } from '@firestore-emulator/server';
// Not re-exported by the package's index: the service whose Listen is replaced below.
import { FirestoreServiceV1Impl } from '@firestore-emulator/server/dist/server/FirestoreServiceV1Impl/index.js';
import {
  ListenResponse, TargetChangeTargetChangeType, type ListenRequest, type Target,
} from '@firestore-emulator/proto/dist/google/firestore/v1/firestore.js';

// The gRPC server of the package's own @grpc/grpc-js (its pinned version, not firebase-admin's),
// as the package's FirestoreServer uses it.
const grpc = createRequire(createRequire(import.meta.url).resolve('@firestore-emulator/server'))('@grpc/grpc-js') as typeof Grpc;

type Send = (response: ListenResponse) => void;
type Stop = () => void;

const DOCUMENT_EVENTS = ['create-document', 'update-document', 'delete-document'] as const;

/** The marker after which firebase-admin raises a snapshot of what it received so far. */
const consistent = (send: Send): void =>
  send(ListenResponse.fromObject({
    target_change: { read_time: TimestampFromNow().toObject(), target_change_type: TargetChangeTargetChangeType.NO_CHANGE, target_ids: [] },
  }));

const changed = (send: Send, targetId: number, document: FirestoreStateDocument): void =>
  send(ListenResponse.fromObject({ document_change: { document: document.toV1DocumentObject(), target_ids: [targetId] } }));

/** A document that left the target: deleted, or no longer matching. */
const gone = (send: Send, targetId: number, path: string, document: FirestoreStateDocument): void => {
  const change = { document: path, removed_target_ids: [targetId], read_time: TimestampFromNow().toObject() };
  send(ListenResponse.fromObject(document.metadata.hasExist ? { document_remove: change } : { document_delete: change }));
};

/** The documents one turn of writes touched, by path (the document as it is now). */
type Written = Map<string, FirestoreStateDocument>;

/**
 * Sends a target's first result, then calls `onWrites` with the documents each turn's writes
 * touched (one snapshot per turn: a batch commit is one); `onWrites` tells whether it sent any
 * change, and a NO_CHANGE follows if so. Returns the stop.
 */
function watchTarget(
  state: FirestoreState, send: Send, targetId: number, initial: Iterable<FirestoreStateDocument>,
  touches: (document: FirestoreStateDocument) => boolean, onWrites: (written: Written) => boolean,
): Stop {
  send(ListenResponse.fromObject({ target_change: { target_change_type: TargetChangeTargetChangeType.ADD, target_ids: [targetId] } }));
  for (const document of initial) changed(send, targetId, document);
  send(ListenResponse.fromObject({
    target_change: { read_time: TimestampFromNow().toObject(), target_change_type: TargetChangeTargetChangeType.CURRENT, target_ids: [targetId] },
  }));
  consistent(send);

  let pending: Written = new Map();
  let stopped = false;
  const flush = (): void => {
    const written = pending;
    pending = new Map();
    if (!stopped && onWrites(written)) consistent(send);
  };
  const onWrite = ({ document }: { document: FirestoreStateDocument }): void => {
    if (stopped || !touches(document)) return;
    if (pending.size === 0) setImmediate(flush);
    pending.set(document.getPath(), document);
  };
  for (const event of DOCUMENT_EVENTS) state.emitter.on(event, onWrite);
  return () => {
    stopped = true;
    for (const event of DOCUMENT_EVENTS) state.emitter.off(event, onWrite);
  };
}

function watchQuery(state: FirestoreState, send: Send, targetId: number, target: Target): Stop {
  const { parent, structured_query: query } = target.query;
  const collection = `${parent}/${query.from[0]?.collection_id ?? ''}`;
  const run = (): Map<string, FirestoreStateDocument> => new Map(state.v1Query(parent, query).map((d) => [d.getPath(), d]));
  let current = run();
  // A whole collection (what the store's watch asks for): a document is in it while it exists,
  // so the writes are the whole change and the query (O(collection)) need not run again.
  const whole = !query.has_where && !query.has_limit && query.order_by.length === 0;
  return watchTarget(state, send, targetId, current.values(), (d) => d.parent.getPath() === collection, (written) => {
    let sent = false;
    if (whole) {
      for (const [path, document] of written) {
        if (document.metadata.hasExist) {
          current.set(path, document);
          changed(send, targetId, document);
          sent = true;
        } else if (current.delete(path)) {
          gone(send, targetId, path, document);
          sent = true;
        }
      }
      return sent;
    }
    const next = run();
    for (const [path, document] of current) {
      if (next.has(path)) continue;
      gone(send, targetId, path, document);
      sent = true;
    }
    for (const [path, document] of next) {
      if (current.has(path) && !written.has(path)) continue;
      changed(send, targetId, document);
      sent = true;
    }
    current = next;
    return sent;
  });
}

function watchDocuments(state: FirestoreState, send: Send, targetId: number, target: Target): Stop {
  const names = new Set(target.documents.documents);
  const existing = [...names].map((name) => state.getDocument(name)).filter((d) => d.metadata.hasExist);
  return watchTarget(state, send, targetId, existing, (d) => names.has(d.getPath()), (written) => {
    for (const [path, document] of written) {
      if (document.metadata.hasExist) changed(send, targetId, document);
      else gone(send, targetId, path, document);
    }
    return written.size > 0;
  });
}

/** One Listen stream: any number of targets added (and removed) by its requests. */
function listen(state: FirestoreState, call: ServerDuplexStream<ListenRequest, ListenResponse>, live: Set<Stop>): void {
  const targets = new Map<number, Stop>();
  const add = (id: number, stop: Stop): void => {
    targets.set(id, stop);
    live.add(stop);
  };
  const remove = (id: number): void => {
    const stop = targets.get(id);
    if (!stop) return;
    stop();
    live.delete(stop);
    targets.delete(id);
  };
  let open = true;
  const send: Send = (response) => {
    if (open) call.write(response);
  };
  const close = (): void => {
    if (!open) return;
    open = false;
    for (const id of [...targets.keys()]) remove(id);
  };
  call.once('end', () => {
    close();
    call.end();
  });
  // a killed client: its connection closes without ending the stream
  call.once('cancelled', close);
  call.once('error', close);
  call.once('close', close);
  call.on('data', (request: ListenRequest) => {
    if (request.has_remove_target) {
      remove(request.remove_target);
      return;
    }
    if (!request.has_add_target || !open) return;
    const target = request.add_target;
    remove(target.target_id);
    if (target.has_query) add(target.target_id, watchQuery(state, send, target.target_id, target));
    else if (target.has_documents) add(target.target_id, watchDocuments(state, send, target.target_id, target));
  });
}

/** Drop-in for the package's `FirestoreServer` (same `state`, `start`, `stop`), with the Listen above. */
export class FirestoreServer {
  readonly state = new FirestoreState();
  private readonly server = new grpc.Server();
  private readonly live = new Set<Stop>();

  /** How many Listen targets (client watches) are served now. */
  get watches(): number {
    return this.live.size;
  }

  constructor() {
    // typed against firebase-admin's @grpc/grpc-js; the same shapes at run time
    const service = new FirestoreServiceV1Impl(this.state) as unknown as UntypedServiceImplementation;
    service.Listen = (call: ServerDuplexStream<ListenRequest, ListenResponse>) => listen(this.state, call, this.live);
    this.server.addService(FirestoreServiceV1Impl.definition, service);
  }

  /** On 127.0.0.1 (the package binds 0.0.0.0): the specs stay on loopback. */
  start(port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve()));
    });
  }

  stop(): void {
    this.server.forceShutdown();
  }
}
