// Backups of the `main` volume that are consistent while keysat-serve writes: before the copy,
// the image's entrypoint writes backup/keysat.db with SQLite's online backup; the copy then leaves
// out the live database and its WAL. On the next start after a restore, the entrypoint makes
// backup/keysat.db the database (it does so whenever keysat.db is missing).
import { sdk } from './sdk'

export const liveDatabase = ['keysat.db', 'keysat.db-wal', 'keysat.db-shm', 'keysat.db.restoring']

/** Runs `docker-entrypoint.sh backup` in a throwaway container of the image, on the volume. */
export async function snapshotDatabase(effects: Parameters<typeof sdk.SubContainer.withTemp>[0]) {
  const mounts = sdk.Mounts.of().mountVolume({
    volumeId: 'main',
    subpath: null,
    mountpoint: '/data',
    readonly: false,
  })
  await sdk.SubContainer.withTemp(effects, { imageId: 'main' }, mounts, 'keysat-backup', (sub) =>
    sub.execFail(['/usr/local/bin/docker-entrypoint.sh', 'backup'], { env: { KEYSAT_DATA_DIR: '/data' } }),
  )
}

export const { createBackup, restoreInit } = sdk.setupBackups(async () =>
  sdk.Backups.ofVolumes('main')
    .setBackupOptions({ exclude: liveDatabase })
    .setPreBackup(async (effects) => {
      await snapshotDatabase(effects)
    }),
)
