// Versioned schema: migrations[i] takes the database from user_version i to i+1.

/**
 * A kernel's files name one that Triton's writers name their temporary files
 * (tmp.pid_<pid>_…): the same text in the partial index below and in the query
 * that uses it (db/candidates.ts), or SQLite does not use the index.
 */
export const WRITER_FILES_WHERE = `files LIKE '%["tmp.pid\\_%' ESCAPE '\\'`;

export const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE roots (
    path TEXT PRIMARY KEY,
    layout TEXT NOT NULL,
    indexed_at REAL NOT NULL,
    warnings TEXT NOT NULL DEFAULT '[]',
    watch TEXT NOT NULL DEFAULT '{}'
  );
  CREATE TABLE kernels (
    path TEXT PRIMARY KEY,
    root TEXT NOT NULL,
    container TEXT NOT NULL,
    layout TEXT NOT NULL,
    key TEXT NOT NULL,
    name TEXT NOT NULL,
    backend TEXT NOT NULL,
    arch TEXT NOT NULL,
    warp_size INTEGER,
    num_warps INTEGER,
    num_stages INTEGER,
    num_ctas INTEGER,
    shared INTEGER,
    triton_version TEXT,
    total_size INTEGER NOT NULL,
    ir_size INTEGER NOT NULL,
    asm_size INTEGER NOT NULL,
    file_count INTEGER NOT NULL,
    dir_mtime REAL NOT NULL,
    modified_time REAL NOT NULL,
    stale_group INTEGER NOT NULL,
    vllm_hash TEXT,
    rank TEXT,
    prefix TEXT,
    warnings TEXT,
    first_seen REAL NOT NULL,
    hits INTEGER NOT NULL DEFAULT 0,
    misses INTEGER NOT NULL DEFAULT 0,
    last_access REAL
  );
  CREATE INDEX kernels_root ON kernels(root);
  -- big columns apart, so that filtering kernels reads small rows
  CREATE TABLE kernel_blobs (
    path TEXT PRIMARY KEY REFERENCES kernels(path) ON DELETE CASCADE,
    files TEXT NOT NULL,
    metadata TEXT
  );
  CREATE TABLE others (
    path TEXT PRIMARY KEY,
    root TEXT NOT NULL,
    container TEXT NOT NULL,
    kind TEXT NOT NULL,
    bytes INTEGER NOT NULL,
    files INTEGER NOT NULL,
    dir_mtime REAL NOT NULL,
    warnings TEXT
  );
  CREATE INDEX others_root ON others(root);
  `,
  `
  -- per Triton dir and name bucket, a digest of names and mtimes (scan/digest.ts)
  ALTER TABLE roots ADD COLUMN digests TEXT NOT NULL DEFAULT '{}';
  CREATE INDEX kernels_warned ON kernels(root) WHERE warnings IS NOT NULL;
  -- counts and sizes per root without touching the wide rows
  DROP INDEX kernels_root;
  CREATE INDEX kernels_root_size ON kernels(root, total_size);
  CREATE INDEX others_warned ON others(root) WHERE warnings IS NOT NULL;
  `,
  `
  -- list --name: match the few distinct names, then fetch only their rows
  CREATE INDEX kernels_name ON kernels(name);
  `,
  `
  -- hit tracking (python/mcm_tracker.py): lookups per Triton dir and key, kept
  -- apart from kernels so that misses before a compile and hits of a kernel that
  -- was pruned and rebuilt are not lost
  CREATE TABLE lookups (
    container TEXT NOT NULL,
    key TEXT NOT NULL,
    name TEXT,
    hits INTEGER NOT NULL DEFAULT 0,
    misses INTEGER NOT NULL DEFAULT 0,
    first_access REAL,
    last_access REAL,
    PRIMARY KEY (container, key)
  );
  -- how far each hit log has been read: every event counts once
  CREATE TABLE hit_logs (path TEXT PRIMARY KEY, offset INTEGER NOT NULL);
  CREATE INDEX kernels_container_key ON kernels(container, key);
  `,
  `
  -- vLLM compile units (standalone-compile artifacts, AOT models): read whole,
  -- never rewritten; the kernels they embed (a JSON array of metadata hashes)
  -- are kernel rows with embedded > 0, at <container>#<hash>
  ALTER TABLE kernels ADD COLUMN embedded INTEGER NOT NULL DEFAULT 0;
  CREATE TABLE units (
    path TEXT PRIMARY KEY,
    root TEXT NOT NULL,
    container TEXT NOT NULL,
    vllm_hash TEXT,
    rank TEXT,
    prefix TEXT,
    format TEXT NOT NULL,
    range_start INTEGER,
    range_end INTEGER,
    subgraph INTEGER,
    bytes INTEGER NOT NULL,
    files INTEGER NOT NULL,
    mtime REAL NOT NULL,
    digest TEXT,
    inode TEXT,
    warnings TEXT,
    kernels TEXT NOT NULL DEFAULT '[]'
  );
  CREATE INDEX units_root ON units(root);
  CREATE TABLE compile_dirs (
    path TEXT PRIMARY KEY,
    root TEXT NOT NULL,
    vllm_hash TEXT,
    rank TEXT,
    prefix TEXT,
    factors TEXT,
    model TEXT,
    graph TEXT,
    stale_index INTEGER NOT NULL DEFAULT 0,
    mtime REAL NOT NULL
  );
  `,
  `
  -- a no-change re-index counts a root's entries on disk and in units from this, not from the wide rows
  CREATE INDEX kernels_root_embedded ON kernels(root, embedded);
  `,
  `
  -- a prune plan checks the few kernels with a writer's files for a live writer: found without reading every row
  CREATE INDEX kernel_blobs_writer_files ON kernel_blobs(path) WHERE ${WRITER_FILES_WHERE};
  `,
  `
  -- a root's bytes on disk (every index run's summary, --max-size) summed from the index alone, not from 100k rows
  DROP INDEX kernels_root_size;
  DROP INDEX kernels_root_embedded;
  CREATE INDEX kernels_root_embedded_size ON kernels(root, embedded, total_size);
  `,
];
