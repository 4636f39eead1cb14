import { IMPOSSIBLE, VersionInfo } from '@start9labs/start-sdk'

// The first release. The database migrates itself at each start (keysat-migrate up, with a
// backup first), so a package version needs a migration only when the volume's files change.
export const v0_1_0 = VersionInfo.of({
  version: '0.1.0:0',
  releaseNotes: {
    en_US:
      'First release: licensing and admin API, buy pages for BTCPay and Zaprite, subscriptions, ' +
      'release gate, actions for the whole admin API, consistent backups.',
  },
  migrations: {
    up: async () => {},
    // An older package cannot read a database a newer keysat-serve migrated.
    down: IMPOSSIBLE,
  },
})
