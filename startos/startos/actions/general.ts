// The operator's own settings and credentials: the seller name, the admin key, the public key.
import { sdk } from '../sdk'
import { store } from '../fileModels/store'
import { admin, adminKey, answer, place } from '../utils'

const { InputSpec, Value } = sdk

export const setOperatorName = sdk.Action.withInput(
  'set-operator-name',
  {
    name: 'Set seller name',
    description: 'The name buyers see on the buy pages, invoices and receipts.',
    warning: null,
    allowedStatuses: 'only-running',
    group: 'General',
    visibility: 'enabled',
  },
  InputSpec.of({
    name: Value.text({
      name: 'Seller name',
      description: 'Your business or product family, as buyers should read it.',
      required: true,
      default: null,
      minLength: 1,
      maxLength: 200,
      placeholder: 'Acme Software',
    }),
  }),
  async () => {
    const current = await admin('GET', '/v1/admin/settings/operator-name')
    return { name: current.operator_name }
  },
  async ({ effects, input }) => {
    const name = input.name.trim()
    if (!name) throw new Error('The seller name cannot be empty.')
    const saved = await admin('POST', '/v1/admin/settings/operator-name', { operator_name: name })
    // Also the fallback the daemon starts with, so that the name survives a database restore.
    await store().merge(effects, { operator_name: saved.operator_name })
    return answer('Seller name saved', `Buyers now see "${saved.operator_name}".`)
  },
)

export const showCredentials = sdk.Action.withoutInput(
  'show-admin-credentials',
  {
    name: 'Show admin credentials',
    description: 'The master admin API key, for scripts and the admin API (Authorization: Bearer).',
    warning: 'Anyone with this key controls your licenses and payment settings. Keep it private.',
    allowedStatuses: 'any',
    group: 'General',
    visibility: 'enabled',
  },
  async () =>
    answer(
      'Admin API key',
      'Send it as "Authorization: Bearer <key>" to the admin API (/v1/admin/...). Scoped keys ' +
        'with fewer rights: POST /v1/admin/api-keys.',
      { value: await adminKey(), masked: true },
    ),
)

// The four forms of the public key, as keysat-issue pubkey --format prints them: minisign's file,
// PEM (SubjectPublicKeyInfo), the raw key in hex, and minisign's one-line base64 (algorithm, key
// id and key).
function rawKeyOfPem(pem: string): Buffer {
  const der = Buffer.from(pem.replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, ''), 'base64')
  if (der.length !== 44) throw new Error('Keysat answered a public key that is not an Ed25519 key.')
  return der.subarray(12)
}

export const showPublicKey = sdk.Action.withoutInput(
  'show-public-key',
  {
    name: 'Show public key',
    description:
      'The key your software and customers verify licenses and releases with, in its four forms: ' +
      'minisign, PEM, hex and base64.',
    warning: null,
    allowedStatuses: 'only-running',
    group: 'General',
    visibility: 'enabled',
  },
  async () => {
    const r = await admin('GET', '/v1/issuer/public-key')
    const raw = rawKeyOfPem(r.public_key_pem)
    const minisign = String(r.minisign ?? '').trim()
    const forms: [string, string, string][] = [
      ['minisign', minisign, 'the .pub file for minisign -V and keysat-verify file'],
      ['PEM', String(r.public_key_pem).trim(), 'for OpenSSL and most SDKs'],
      ['hex', raw.toString('hex'), "the raw 32 bytes, for Keysat's SDKs and keysat-verify -p"],
      ['base64', minisign.split('\n')[1] ?? '', "minisign's one line, for minisign -P"],
    ]
    return {
      version: '1' as const,
      title: 'Public key',
      message: `Key id ${r.key_id ?? '(none)'}. Safe to publish: it only verifies.`,
      result: {
        type: 'group' as const,
        value: forms
          .filter(([, value]) => value)
          .map(([name, value, description]) => ({
            type: 'single' as const,
            name,
            description,
            value,
            copyable: true,
            qr: false,
            masked: false,
          })),
      },
    }
  },
)


export const setConsolePassword = sdk.Action.withInput(
  'set-console-password',
  {
    name: 'Set console password',
    description:
      'The password for the operator console at /admin/ (the Console interface). Setting a new ' +
      'one signs every console session out. Scripts keep using the admin API key.',
    warning: null,
    allowedStatuses: 'any',
    group: 'General',
    visibility: 'enabled',
  },
  InputSpec.of({
    password: Value.text({
      name: 'New password',
      description: 'At least 12 characters.',
      required: true,
      default: null,
      masked: true,
      minLength: 12,
      maxLength: 1024,
    }),
    confirm: Value.text({
      name: 'The password again',
      required: true,
      default: null,
      masked: true,
      minLength: 12,
      maxLength: 1024,
    }),
  }),
  async () => null,
  async ({ effects, input }) => {
    if (input.password !== input.confirm) throw new Error('The two passwords differ; nothing was changed.')
    if (/[\r\n]/.test(input.password)) throw new Error('A password cannot contain a line break.')
    // StartOS's form checks the length too; keysat-serve would refuse it anyway.
    const length = Buffer.byteLength(input.password)
    if (length < 12 || length > 1024)
      throw new Error('The password must be 12 to 1024 characters long; nothing was changed.')
    // keysat-serve --set-admin-password reads it from its standard input: it is never written to
    // the volume or shown in a command line.
    try {
      await place.runInImage(
        effects,
        ['keysat-serve', '--set-admin-password', '--password-file', '-'],
        `${input.password}\n`,
      )
    } catch (e) {
      throw new Error(`Keysat could not set the password: ${(e as Error).message}`)
    }
    return answer(
      'Console password set',
      'The console (/admin/) signs in with it once it ships; the admin API key keeps working.',
    )
  },
)
