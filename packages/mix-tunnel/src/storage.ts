// The core's small records (keys, gateway registration) in IndexedDB, one
// database for every clientId with records keyed [clientId, name], read into
// memory before the core starts and written back as the core saves. With a passphrase every record is sealed
// with AES-GCM under a PBKDF2 key; a store is either sealed or not, and
// opening it the other way fails rather than mixing the two.

const STORE = 'records';
const SALT_RECORD = '.salt';
const PBKDF2_ITERATIONS = 310000;

export interface RecordStore {
  records: Map<string, Uint8Array>;
  save(name: string, bytes: Uint8Array<ArrayBuffer>): void;
}

function request<T>(r: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
}

let database: Promise<IDBDatabase> | undefined;
/** The one database, opened once. Opening it is slow in a new browser profile (about 100 ms), and
 * needs no clientId, so the worker starts it as soon as it runs. */
export function openDatabase(): Promise<IDBDatabase> {
  if (!database) {
    const open = indexedDB.open('mix-tunnel', 1);
    open.onupgradeneeded = () => open.result.createObjectStore(STORE);
    database = request(open);
  }
  return database;
}

async function sealingKey(passphrase: string, salt: Uint8Array<ArrayBuffer>): Promise<CryptoKey> {
  const material = await crypto.subtle.importKey('raw', new TextEncoder().encode(passphrase), 'PBKDF2', false, [
    'deriveKey',
  ]);
  return crypto.subtle.deriveKey(
    { name: 'PBKDF2', hash: 'SHA-256', salt, iterations: PBKDF2_ITERATIONS },
    material,
    { name: 'AES-GCM', length: 256 },
    false,
    ['encrypt', 'decrypt'],
  );
}

/** Opens the store of clientId; rejects when the passphrase does not fit it. */
export async function openRecordStore(clientId: string, passphrase: string | undefined): Promise<RecordStore> {
  const db = await openDatabase();
  const all = db.transaction(STORE, 'readonly').objectStore(STORE);
  // every [clientId, name]: an array key sorts after every string
  const mine = IDBKeyRange.bound([clientId], [clientId, []]);
  const [keys, values] = await Promise.all([request(all.getAllKeys(mine)), request(all.getAll(mine))]);
  const stored = new Map<string, Uint8Array<ArrayBuffer>>();
  keys.forEach((k, i) => stored.set(String((k as [string, string])[1]), new Uint8Array(values[i] as ArrayBuffer)));

  let key: CryptoKey | undefined;
  const salt = stored.get(SALT_RECORD);
  if (passphrase !== undefined) {
    if (!salt && stored.size > 0) throw new Error('storage: this client\'s store is not sealed, but a passphrase was given');
    const newSalt = salt ?? crypto.getRandomValues(new Uint8Array(16));
    key = await sealingKey(passphrase, newSalt);
    if (!salt) db.transaction(STORE, 'readwrite').objectStore(STORE).put(newSalt.buffer, [clientId, SALT_RECORD]);
  } else if (salt) {
    throw new Error('storage: this client\'s store is sealed: give its storagePassphrase');
  }
  stored.delete(SALT_RECORD);

  const records = new Map<string, Uint8Array>();
  for (const [name, bytes] of stored) {
    if (!key) {
      records.set(name, bytes);
      continue;
    }
    try {
      const plain = await crypto.subtle.decrypt({ name: 'AES-GCM', iv: bytes.subarray(0, 12) }, key, bytes.subarray(12));
      records.set(name, new Uint8Array(plain));
    } catch {
      throw new Error('storage: wrong storagePassphrase');
    }
  }

  // Writes in call order: each waits for the one before it.
  let last: Promise<unknown> = Promise.resolve();
  const save = (name: string, bytes: Uint8Array<ArrayBuffer>): void => {
    last = last.then(async () => {
      let value: ArrayBuffer = bytes.slice().buffer;
      if (key) {
        const iv = crypto.getRandomValues(new Uint8Array(12));
        const sealed = new Uint8Array(await crypto.subtle.encrypt({ name: 'AES-GCM', iv }, key, bytes));
        const out = new Uint8Array(12 + sealed.length);
        out.set(iv);
        out.set(sealed, 12);
        value = out.buffer;
      }
      await request(db.transaction(STORE, 'readwrite').objectStore(STORE).put(value, [clientId, name]));
    });
  };
  return { records, save };
}
