import type { ObjectPosition } from './entry-splitter.js';

/** An object as ListObjectsV2 shows it. */
export interface ListedObject {
  key: string;
  etag: string;
  size: number;
  lastModified: number;
}

/** The object being read and how far: a restart resumes there when the object is unchanged. */
export interface Reading extends ObjectPosition {
  key: string;
  etag: string;
  /** Whether the object is read through gunzip (a ranged GET cannot resume inside gzip). */
  gzip: boolean;
}

/** The checkpoint, committed with each batch as JSON. */
interface Checkpoint {
  v: 1;
  /** Every key up to this one has been read (or was already outside the lookback when passed). */
  after: string;
  /** Listings start after this key: objects before it have aged out of the lookback. */
  floor: string;
  /** Newest LastModified seen (ms): the lookback counts back from it. */
  newest: number;
  /** Objects read whose LastModified is within the lookback of `newest`: [key, etag, lastModified]. */
  read: Array<[string, string, number]>;
  reading?: Reading;
}

export type Decision = { read: false } | { read: true; from: ObjectPosition; gzip?: boolean; why: 'new' | 'resume' | 'late' | 'replaced' };

/**
 * Which objects to read, and the checkpoint that remembers it. Keys are listed in order from
 * `floor`; a key after `after` is new; a key before it is read only when it is within the lookback
 * (by LastModified) and not read yet with that ETag: a late upload, or an object replaced.
 */
export class ReadState {
  private after: string;
  private floor: string;
  private newest: number;
  private readonly read = new Map<string, { etag: string; lastModified: number }>();
  private reading: Reading | undefined;

  constructor(checkpoint: string | null, private readonly lookbackMs: number, startAfter: string) {
    const cp = parse(checkpoint);
    this.after = cp?.after ?? startAfter;
    this.floor = cp?.floor ?? startAfter;
    this.newest = cp?.newest ?? 0;
    for (const [key, etag, lastModified] of cp?.read ?? []) this.read.set(key, { etag, lastModified });
    this.reading = cp?.reading;
  }

  /** Where a listing starts (ListObjectsV2 StartAfter). */
  get listFrom(): string {
    return this.floor;
  }

  /** The object a restart resumes in, if any. */
  get current(): Reading | undefined {
    return this.reading;
  }

  decide(o: ListedObject): Decision {
    this.newest = Math.max(this.newest, o.lastModified);
    const r = this.reading;
    if (r && r.key === o.key) {
      return r.etag === o.etag ? { read: true, from: { byte: r.byte, line: r.line }, gzip: r.gzip, why: 'resume' } : { read: true, from: START, why: 'replaced' };
    }
    if (o.key > this.after) return { read: true, from: START, why: 'new' };
    if (o.lastModified < this.horizon()) return { read: false };
    const known = this.read.get(o.key);
    if (known?.etag === o.etag) return { read: false };
    return { read: true, from: START, why: known ? 'replaced' : 'late' };
  }

  /** After a batch of `o`: the checkpoint that resumes after it. */
  progress(o: ListedObject, at: ObjectPosition, gzip: boolean): string {
    this.reading = { key: o.key, etag: o.etag, byte: at.byte, line: at.line, gzip };
    return this.serialize();
  }

  /** After the last batch of `o`: the checkpoint that passes it. */
  finished(o: ListedObject): string {
    this.reading = undefined;
    if (o.key > this.after) this.after = o.key;
    const horizon = this.horizon();
    if (o.lastModified >= horizon) this.read.set(o.key, { etag: o.etag, lastModified: o.lastModified });
    else this.raiseFloor(o.key);
    for (const [key, { lastModified }] of this.read) {
      if (lastModified < horizon) {
        this.read.delete(key);
        this.raiseFloor(key);
      }
    }
    return this.serialize();
  }

  private raiseFloor(key: string): void {
    if (key > this.floor) this.floor = key;
  }

  private horizon(): number {
    return this.newest - this.lookbackMs;
  }

  private serialize(): string {
    const cp: Checkpoint = {
      v: 1, after: this.after, floor: this.floor, newest: this.newest,
      read: [...this.read].map(([key, { etag, lastModified }]) => [key, etag, lastModified]),
      ...(this.reading ? { reading: this.reading } : {}),
    };
    return JSON.stringify(cp);
  }
}

const START: ObjectPosition = { byte: 0, line: 1 };

function parse(text: string | null): Checkpoint | null {
  if (!text) return null;
  try {
    const cp = JSON.parse(text) as Checkpoint;
    return cp?.v === 1 ? cp : null;
  } catch {
    return null;
  }
}
