// A backup the operator downloads now: a single-use link to the admin API's consistent copy of
// the database (no admin key in it, so nothing lasting ends up in a browser's or shell's history).
import { sdk } from '../sdk'
import { store } from '../fileModels/store'
import { ownPublicUrl } from '../publicUrl'
import { admin, when } from '../utils'

export const backupNow = sdk.Action.withoutInput(
  'download-backup',
  {
    name: 'Download a backup',
    description:
      'A consistent copy of the database (licenses, buyers, settings), taken while Keysat keeps ' +
      'serving, through a link that works once, for 10 minutes. Keep the signing key too: ' +
      'StartOS backups hold both.',
    warning: "The copy holds buyers' emails and your payment providers' keys. Store it safely.",
    allowedStatuses: 'only-running',
    group: 'General',
    visibility: 'enabled',
  },
  async ({ effects }) => {
    const settings = await store().read().once()
    const base = await ownPublicUrl(effects, settings?.public_url, 'once')
    if (!base)
      throw new Error('Keysat has no address your computer can reach yet (see its API interface).')
    // Whoever reads the link first gets the database: never over plain HTTP, except to this
    // machine itself.
    const local = /^http:\/\/(127\.|\[::1\]|localhost[:/])/.test(`${base}/`)
    if (!base.startsWith('https://') && !local)
      throw new Error(
        `Keysat's address ${base} is not https, and anyone on the way could take the backup. ` +
          'Give the API interface an https address (StartOS does for .local and domains).',
      )
    const link = await admin('POST', '/v1/admin/backup/link')
    const url = `${base}${link.path}`
    return {
      version: '1' as const,
      title: 'Download a backup',
      message:
        `Open the link, or run the command on your computer (it saves keysat-<time>.db in the ` +
        `current folder). It works once, until ${when(link.expires_at)} UTC; the copy is made ` +
        'when you use it. Check it with "keysat-migrate verify --db keysat-<time>.db".',
      result: {
        type: 'group' as const,
        value: [
          { type: 'single' as const, name: 'Link', description: null, value: url, copyable: true, qr: false, masked: true },
          {
            type: 'single' as const,
            name: 'Command',
            description: null,
            value: `curl -fSOJ '${url}'`,
            copyable: true,
            qr: false,
            masked: true,
          },
        ],
      },
    }
  },
)
