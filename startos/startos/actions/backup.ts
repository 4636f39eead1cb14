// A backup the operator downloads now: the admin API's consistent copy of the database, fetched
// with the command this action shows.
import { sdk } from '../sdk'
import { store } from '../fileModels/store'
import { ownPublicUrl } from '../publicUrl'
import { admin, adminKey } from '../utils'

export const backupNow = sdk.Action.withoutInput(
  'download-backup',
  {
    name: 'Download a backup',
    description:
      'A consistent copy of the database (licenses, buyers, settings), taken while Keysat keeps ' +
      'serving. Keep the signing key too: StartOS backups hold both.',
    warning: 'The copy holds buyers\' emails and your payment providers\' keys. Store it safely.',
    allowedStatuses: 'only-running',
    group: 'General',
    visibility: 'enabled',
  },
  async ({ effects }) => {
    // Checks that the daemon answers and the key works before handing out the command.
    await admin('GET', '/v1/admin/settings/operator-name')
    const settings = await store().read().once()
    const base = await ownPublicUrl(effects, settings?.public_url, 'once')
    if (!base)
      throw new Error('Keysat has no address your computer can reach yet (see its API interface).')
    // The command carries the master key: never over plain HTTP, except to this machine itself.
    const local = /^http:\/\/(127\.|\[::1\]|localhost[:/])/.test(`${base}/`)
    if (!base.startsWith('https://') && !local)
      throw new Error(
        `Keysat's address ${base} is not https, and the download would send the admin key in the ` +
          'clear. Give the API interface an https address (StartOS does for .local and domains).',
      )
    const command =
      `curl -fSOJ -H 'Authorization: Bearer ${await adminKey()}' '${base}/v1/admin/backup'`
    return {
      version: '1' as const,
      title: 'Download a backup',
      message:
        'Run this on your computer: it saves keysat-<time>.db in the current folder. The copy is ' +
        'made when you run it. Check it with "keysat-migrate verify --db keysat-<time>.db".',
      result: {
        type: 'single' as const,
        value: command,
        copyable: true,
        qr: false,
        masked: true,
      },
    }
  },
)
