// Backups of the `main` volume that are consistent while keysat-serve writes: before the copy,
// the image's entrypoint writes backup/keysat.db with SQLite's online backup; the copy then leaves
// out the live database and its WAL. On the next start after a restore, the entrypoint makes
// backup/keysat.db the database (it does so whenever keysat.db is missing).
import { sdk } from './sdk'
import { place } from './utils'

// rsync exclude patterns, anchored at the volume's root: an unanchored 'keysat.db' would also
// leave out backup/keysat.db, the copy itself. (tests/check_container_entrypoint.sh copies a
// volume with exactly these patterns.)
export const liveDatabase = ['/keysat.db', '/keysat.db-wal', '/keysat.db-shm', '/keysat.db.restoring']

export const { createBackup, restoreInit } = sdk.setupBackups(async () =>
  sdk.Backups.ofVolumes('main')
    .setBackupOptions({ exclude: liveDatabase })
    .setPreBackup(async (effects) => {
      await place.runInImage(effects, ['backup'])
    }),
)
