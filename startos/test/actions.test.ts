// Every action of the package against a real keysat-serve on loopback, started by the image's
// entrypoint on a temporary directory laid out like the package's volume; StartOS's effects are
// a recording stand-in (effects.ts), and Zaprite's and BTCPay's APIs are small stand-ins that
// follow their published routes. Run by CTest (tests/check_startos_package.sh) with
//   KEYSAT_BIN_DIR      the built tools
//   KEYSAT_ENTRYPOINT   dist/docker-entrypoint.sh
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { ChildProcess, execFileSync, spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync, chmodSync, existsSync } from 'node:fs'
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http'
import { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { actions } from '../startos/actions'
import { connectTaskId } from '../startos/actions/payments'
import { initStore } from '../startos/init'
import { pickPublicUrl } from '../startos/publicUrl'
import { place } from '../startos/utils'
import { recordingEffects } from './effects'

const bin = process.env.KEYSAT_BIN_DIR ?? ''
const entrypoint = process.env.KEYSAT_ENTRYPOINT ?? ''
if (!existsSync(join(bin, 'keysat-serve')) || !existsSync(entrypoint))
  throw new Error('set KEYSAT_BIN_DIR (the built tools) and KEYSAT_ENTRYPOINT (dist/docker-entrypoint.sh)')

const dir = mkdtempSync(join(tmpdir(), 'keysat-startos-'))
chmodSync(dir, 0o755)
const data = join(dir, 'data')
let daemon: ChildProcess | null = null
let port = 0
const fx = recordingEffects()
let zaprite: Server
let btcpay: Server
const zapriteKey = 'zaprite-test-key-0123456789'
const btcpayRequests: string[] = []
const toolRuns: string[][] = []

type Result = { title: string; message: string | null; result: any } // eslint-disable-line
async function run(id: string, input: Record<string, unknown> = {}): Promise<Result> {
  fx.newEvent()
  const action = actions.get(id as never) as any // eslint-disable-line
  assert.ok(action, `no action ${id}`)
  await action.getInput({ effects: fx.effects, prefill: null })
  const r = await action.run({ effects: fx.effects, input })
  assert.ok(r, `${id} answered nothing`)
  return r as Result
}
const value = (r: Result) => (r.result?.type === 'single' ? (r.result.value as string) : '')

async function freePort(): Promise<number> {
  const s = createServer()
  await new Promise<void>((ok) => s.listen(0, '127.0.0.1', ok))
  const p = (s.address() as AddressInfo).port
  await new Promise((ok) => s.close(ok))
  return p
}
async function listen(handler: (req: IncomingMessage, res: ServerResponse) => void) {
  const s = createServer(handler)
  await new Promise<void>((ok) => s.listen(0, '127.0.0.1', ok))
  return s
}
const urlOf = (s: Server) => `http://127.0.0.1:${(s.address() as AddressInfo).port}`

async function startDaemon() {
  port = await freePort()
  daemon = spawn(entrypoint, [], {
    env: {
      PATH: process.env.PATH,
      KEYSAT_BIN_DIR: bin,
      KEYSAT_DATA_DIR: data,
      KEYSAT_USER: 'nobody',
      KEYSAT_BIND: `127.0.0.1:${port}`,
      KEYSAT_WEBHOOK_ALLOW: '127.0.0.1/32',
      BTCPAY_URL: urlOf(btcpay),
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  })
  let log = ''
  daemon.stderr!.on('data', (d) => (log += d))
  for (let i = 0; i < 100; i++) {
    try {
      const r = await fetch(`http://127.0.0.1:${port}/healthz`)
      if (r.ok) return
    } catch {
      /* not yet */
    }
    if (daemon.exitCode !== null) break
    await new Promise((ok) => setTimeout(ok, 100))
  }
  throw new Error(`keysat-serve did not start:\n${log}`)
}
async function stopDaemon() {
  if (!daemon || daemon.exitCode !== null) return
  const exited = new Promise((ok) => daemon!.once('exit', ok))
  daemon.kill('SIGTERM')
  await exited
}
async function get(path: string) {
  const r = await fetch(`http://127.0.0.1:${port}${path}`, {
    headers: { Authorization: `Bearer ${readFileSync(join(data, 'admin-api-key'), 'utf8').trim()}` },
  })
  return r.json() as any // eslint-disable-line
}

before(async () => {
  // Zaprite's key check is GET /v1/orders?limit=1 with the key as a Bearer token.
  zaprite = await listen((req, res) => {
    const authorized = req.headers.authorization === `Bearer ${zapriteKey}`
    res.setHeader('Content-Type', 'application/json')
    if (!authorized) {
      res.statusCode = 401
      res.end('{"message":"Unauthorized"}')
    } else if (req.method === 'GET' && req.url?.startsWith('/v1/orders')) {
      res.end('{"items":[],"total":0}')
    } else {
      res.statusCode = 404
      res.end('{"message":"Not found"}')
    }
  })
  btcpay = await listen((req, res) => {
    btcpayRequests.push(`${req.method} ${req.url}`)
    res.statusCode = 404
    res.end()
  })
  await startDaemon()
  place.daemonUrl = `http://127.0.0.1:${port}`
  place.dataDir = data
  // The image's tools run here as the entrypoint runs them in a throwaway container.
  place.runInImage = async (_effects, args, input) => {
    toolRuns.push(args)
    execFileSync(entrypoint, args, {
      env: { PATH: process.env.PATH, KEYSAT_BIN_DIR: bin, KEYSAT_DATA_DIR: data, KEYSAT_USER: 'nobody' },
      input: input ?? '',
      stdio: ['pipe', 'ignore', 'pipe'],
    })
  }
})

after(async () => {
  await stopDaemon()
  zaprite?.close()
  btcpay?.close()
  rmSync(dir, { recursive: true, force: true })
})

describe('general', () => {
  test('show-admin-credentials shows the key the entrypoint wrote, masked', async () => {
    const r = await run('show-admin-credentials')
    assert.equal(value(r), readFileSync(join(data, 'admin-api-key'), 'utf8').trim())
    assert.match(value(r), /^[0-9a-f]{64}$/)
    assert.equal(r.result.masked, true)
  })

  test('set-operator-name: prefilled, saved in the database and the store, empty refused', async () => {
    fx.newEvent()
    const prefill = await actions.get('set-operator-name').getInput({ effects: fx.effects, prefill: null })
    assert.deepEqual(prefill.value, { name: 'Keysat' })
    const r = await run('set-operator-name', { name: '  Acme Software ' })
    assert.match(r.message ?? '', /Acme Software/)
    assert.equal((await get('/v1/admin/settings/operator-name')).operator_name, 'Acme Software')
    assert.equal(JSON.parse(readFileSync(join(data, 'store.json'), 'utf8')).operator_name, 'Acme Software')
    await assert.rejects(run('set-operator-name', { name: '' }))
  })

  test('set-console-password runs keysat-serve --set-admin-password with the password on stdin', async () => {
    await assert.rejects(
      run('set-console-password', { password: 'correct horse battery', confirm: 'correct horse batterY' }),
      /differ; nothing was changed/,
    )
    await assert.rejects(run('set-console-password', { password: 'short', confirm: 'short' }), /12 to 1024/)
    assert.equal(toolRuns.length, 0)
    const r = await run('set-console-password', { password: 'correct horse battery', confirm: 'correct horse battery' })
    assert.match(r.title, /Console password set/)
    // Never in the command line.
    assert.deepEqual(toolRuns.at(-1), ['keysat-serve', '--set-admin-password', '--password-file', '-'])
    const audit = await get('/v1/admin/audit?action=console_password.set')
    assert.equal(audit.entries.length, 1)
    assert.equal(audit.entries[0].actor_id, 'keysat-serve')
    // A failing tool: the operator reads why.
    const real = place.runInImage
    place.runInImage = async () => {
      throw new Error('exit status 2')
    }
    await assert.rejects(
      run('set-console-password', { password: 'another long one', confirm: 'another long one' }),
      /Keysat could not set the password: exit status 2/,
    )
    place.runInImage = real
  })

  test('show-public-key gives the four forms keysat-issue prints', async () => {
    const r = await run('show-public-key')
    const forms = Object.fromEntries(r.result.value.map((m: { name: string; value: string }) => [m.name, m.value]))
    for (const [name, format] of [
      ['minisign', 'minisign'],
      ['PEM', 'pem'],
      ['hex', 'hex'],
      ['base64', 'base64'],
    ]) {
      const expected = execFileSync(join(bin, 'keysat-issue'), [
        'pubkey',
        '-s',
        join(data, 'signing.key'),
        '--format',
        format,
      ]).toString()
      assert.equal(forms[name], expected.trim(), name)
    }
  })
})

describe('catalog and licenses', () => {
  let licenseId = ''
  let licenseKey = ''

  test('create-product and create-policy reach the admin API', async () => {
    const p = await run('create-product', { slug: 'app', name: 'App', price_sats: 50000, description: null })
    assert.match(value(p), /^[0-9a-f-]{36}$/)
    const t = await run('create-policy', {
      product_slug: 'app',
      slug: 'pro',
      name: 'Pro',
      duration_days: 30,
      max_machines: 2,
      entitlements: 'sync, export',
      price_sats: 90000,
      is_recurring: false,
    })
    assert.match(t.message ?? '', /30 days, 2 machine\(s\), sync, export/)
    const policy = (await get('/v1/admin/policies?product_slug=app')).policies.find((x: { slug: string }) => x.slug === 'pro')
    assert.equal(policy.duration_seconds, 30 * 86400)
    assert.equal(policy.price_sats_override, 90000)
    assert.deepEqual(policy.entitlements, ['sync', 'export'])
    // A bad slug is refused by the form; a taken one by keysat-serve, in words.
    await assert.rejects(run('create-product', { slug: 'Bad Slug', name: 'x', price_sats: 1, description: null }))
    await assert.rejects(
      run('create-product', { slug: 'app', name: 'Again', price_sats: 1, description: null }),
      /conflicts with what Keysat already has/,
    )
  })

  test('issue-license signs a key that validates', async () => {
    const r = await run('issue-license', { product_slug: 'app', policy_slug: 'pro', buyer_email: 'buyer@example.com' })
    licenseKey = value(r)
    assert.match(licenseKey, /^LIC1-/)
    licenseId = /License ([0-9a-f-]{36})/.exec(r.message ?? '')![1]
    const v = await fetch(`http://127.0.0.1:${port}/v1/validate`, {
      method: 'POST',
      body: JSON.stringify({ key: licenseKey }),
    }).then((x) => x.json() as any) // eslint-disable-line
    assert.equal(v.ok, true)
    await assert.rejects(run('issue-license', { product_slug: 'nope', policy_slug: null, buyer_email: null }), /Keysat/)
  })

  test('search-licenses by email and by invoice id', async () => {
    const r = await run('search-licenses', { query: 'buyer@example.com' })
    assert.match(r.message ?? '', new RegExp(licenseId))
    assert.match(r.message ?? '', /active/)
    const none = await run('search-licenses', { query: 'no-such-invoice' })
    assert.match(none.title, /No license found/)
  })

  test('suspend, unsuspend and revoke change the license, with readable refusals', async () => {
    const status = async () => (await get('/v1/admin/licenses/search?buyer_email=buyer%40example.com')).licenses[0].status
    await run('suspend-license', { license_id: licenseId, reason: 'chargeback' })
    assert.equal(await status(), 'suspended')
    await run('unsuspend-license', { license_id: licenseId, reason: null })
    assert.equal(await status(), 'active')
    await run('revoke-license', { license_id: licenseId, reason: 'refund' })
    assert.equal(await status(), 'revoked')
    await assert.rejects(run('suspend-license', { license_id: 'x'.repeat(36), reason: null }), /is not a license id/)
    await assert.rejects(
      run('suspend-license', { license_id: '00000000-0000-4000-8000-000000000000', reason: null }),
      /Keysat has no such item/,
    )
  })

  test('import-ledger records keys signed offline; a bad line imports nothing unless asked', async () => {
    const product = (await get('/v1/admin/products')).products.find((p: { slug: string }) => p.slug === 'app')
    const ledger = execFileSync(
      join(bin, 'keysat-issue'),
      ['bulk', '-s', join(data, 'signing.key'), '--product', product.id],
      { input: 'email,days\none@example.com,30\ntwo@example.com,30\n' },
    ).toString()
    const bad = `${ledger}{"v":1,"key":"LIC1-NOT-A-KEY"}\n`
    await assert.rejects(run('import-ledger', { ledger: bad, keep_going: false }), /line 3/)
    assert.equal((await get('/v1/admin/licenses/search?buyer_email=one%40example.com')).licenses.length, 0)
    const r = await run('import-ledger', { ledger: bad, keep_going: true })
    assert.match(r.message ?? '', /3 record\(s\): 2 new, 0 already there, 1 skipped/)
    assert.equal((await get('/v1/admin/licenses/search?buyer_email=one%40example.com')).licenses.length, 1)
    const again = await run('import-ledger', { ledger, keep_going: false })
    assert.match(again.message ?? '', /0 new, 2 already there/)
  })
})

describe('discount codes', () => {
  test('create, list, disable and enable', async () => {
    const r = await run('create-discount-code', {
      code: 'SAVE12',
      kind: 'percent',
      amount: 12.5,
      product_slug: 'app',
      max_uses: 10,
    })
    assert.equal(value(r), 'SAVE12')
    const code = (await get('/v1/admin/discount-codes')).codes.find((c: { code: string }) => c.code === 'SAVE12')
    assert.equal(code.amount, 1250)
    assert.equal(code.max_uses, 10)
    const list = await run('list-discount-codes')
    assert.match(list.message ?? '', /SAVE12 +12\.5 % off +0\/10 +active/)
    await run('disable-discount-code', { code: 'save12' })
    assert.equal((await get(`/v1/admin/discount-codes/${code.id}`)).code.active, false)
    await run('enable-discount-code', { code: 'SAVE12' })
    assert.equal((await get(`/v1/admin/discount-codes/${code.id}`)).code.active, true)
    await assert.rejects(run('disable-discount-code', { code: 'NOPE' }), /no discount code "NOPE"/)
    await assert.rejects(
      run('create-discount-code', { code: 'HALF', kind: 'percent', amount: 150, product_slug: null, max_uses: null }),
      /at most 100/,
    )
  })
})

describe('machines, webhooks and the audit log', () => {
  test('list-machines and free-seat', async () => {
    const issued = await run('issue-license', { product_slug: 'app', policy_slug: 'pro', buyer_email: null })
    const act = await fetch(`http://127.0.0.1:${port}/v1/machines/activate`, {
      method: 'POST',
      body: JSON.stringify({ key: value(issued), fingerprint: 'fp-1', hostname: 'desk-1' }),
    }).then((x) => x.json() as any) // eslint-disable-line
    assert.equal(act.ok, true)
    const list = await run('list-machines', { license_id: null, include_inactive: false })
    assert.match(list.message ?? '', new RegExp(`${act.machine_id} .*desk-1 .*active`))
    await run('free-seat', { machine_id: act.machine_id, reason: 'new laptop' })
    const active = await run('list-machines', { license_id: null, include_inactive: false })
    assert.match(active.title, /No machines/)
    const all = await run('list-machines', { license_id: null, include_inactive: true })
    assert.match(all.message ?? '', /desk-1 .*freed/)
  })

  test('register-webhook shows the secret once; list-webhooks lists it', async () => {
    const url = `http://127.0.0.1:${await freePort()}/hook`
    const r = await run('register-webhook', { url, events: 'license.issued', description: null })
    assert.match(value(r), /^[0-9a-f]{64}$/)
    assert.equal(r.result.masked, true)
    const list = await run('list-webhooks')
    assert.match(list.message ?? '', new RegExp(`${url} +license.issued +active`))
    await assert.rejects(run('register-webhook', { url: 'ftp://x', events: null, description: null }))
  })

  test('view-audit-log shows the changes, filtered by action', async () => {
    const r = await run('view-audit-log', { action: 'license.revoke', limit: 10 })
    assert.match(r.message ?? '', /master +license.revoke/)
    assert.doesNotMatch(r.message ?? '', /license.issue /)
  })
})

describe('payments', () => {
  test('payment-status without a provider says how to connect one and keeps the task', async () => {
    const before = fx.calledWith('action.clearTasks').length
    const r = await run('payment-status')
    assert.match(r.title, /No payment provider/)
    assert.equal(fx.calledWith('action.clearTasks').length, before)
  })

  test('connect-btcpay answers the authorize URL on BTCPay; check-btcpay says it is not connected', async () => {
    const r = await run('connect-btcpay')
    assert.ok(value(r).startsWith(`${urlOf(btcpay)}/api-keys/authorize?`), value(r))
    assert.match(value(r), /btcpay\.store\.cancreateinvoice/)
    const check = await run('check-btcpay')
    assert.match(check.title, /not connected/)
  })

  test('connect-zaprite: a wrong key is refused in words; the right one connects and clears the task', async () => {
    await assert.rejects(
      run('connect-zaprite', { api_key: 'wrong-key-000000', base_url: urlOf(zaprite) }),
      /payment provider did not answer as expected|refused/,
    )
    const r = await run('connect-zaprite', { api_key: zapriteKey, base_url: urlOf(zaprite) })
    assert.match(value(r), new RegExp(`^http://127\\.0\\.0\\.1:${port}/v1/zaprite/webhook/`))
    assert.deepEqual(fx.calledWith('action.clearTasks').at(-1), [{ only: [connectTaskId] }])
    const status = await run('payment-status')
    assert.match(status.message ?? '', /zaprite: Zaprite on StartOS/)
  })
})

describe('backups and failures', () => {
  test('download-backup gives a single-use link without the admin key; the database verifies', async () => {
    // Never over plain HTTP to another machine.
    writeFileSync(join(data, 'store.json'), JSON.stringify({ operator_name: null, public_url: 'http://keysat.local' }))
    await assert.rejects(run('download-backup'), /is not https/)
    writeFileSync(
      join(data, 'store.json'),
      JSON.stringify({ operator_name: 'Acme Software', public_url: `http://127.0.0.1:${port}/` }),
    )
    const r = await run('download-backup')
    const [link, command] = r.result.value as { name: string; value: string; masked: boolean }[]
    assert.equal(link.masked, true)
    assert.match(link.value, new RegExp(`^http://127\\.0\\.0\\.1:${port}/v1/backup/[A-Za-z0-9_-]{43}$`))
    assert.equal(command.value, `curl -fSOJ '${link.value}'`)
    assert.ok(!command.value.includes(readFileSync(join(data, 'admin-api-key'), 'utf8').trim()))
    const out = join(dir, 'download')
    execFileSync('mkdir', ['-p', out])
    execFileSync('sh', ['-c', command.value], { cwd: out, stdio: 'ignore' })
    const file = execFileSync('ls', [out]).toString().trim()
    assert.match(file, /^keysat-\d{8}T\d{6}Z\.db$/)
    execFileSync(join(bin, 'keysat-migrate'), ['verify', '--db', join(out, file)], { stdio: 'ignore' })
    // Once only.
    assert.equal((await fetch(link.value)).status, 404)
  })

  test('init at install writes the store and asks for a payment provider', async () => {
    rmSync(join(data, 'store.json'))
    await initStore.init(fx.effects, 'install')
    assert.deepEqual(JSON.parse(readFileSync(join(data, 'store.json'), 'utf8')), {
      operator_name: null,
      public_url: null,
    })
    const task = fx.calledWith('action.createTask').at(-1)![0] as Record<string, unknown>
    assert.equal(task.replayId, connectTaskId)
    assert.equal(task.actionId, 'payment-status')
    assert.equal(task.severity, 'important')
  })

  test('a wrong admin key and a stopped daemon give the operator readable messages', async () => {
    const real = readFileSync(join(data, 'admin-api-key'), 'utf8')
    writeFileSync(join(data, 'admin-api-key'), 'f'.repeat(64))
    await assert.rejects(run('list-webhooks'), /Keysat did not accept the admin key/)
    writeFileSync(join(data, 'admin-api-key'), real)
    await stopDaemon()
    await assert.rejects(run('list-webhooks'), /Keysat is not answering \(ECONNREFUSED\)\. Is the service running\?/)
  })
})

describe('the public URL', () => {
  test('public addresses first, then .local, then private IPs; never localhost', () => {
    const lan = ['https://192.168.1.5:443', 'https://keysat.local', 'http://keysat.local', 'http://127.0.0.1:8080']
    assert.equal(pickPublicUrl(lan, []), 'https://keysat.local')
    assert.equal(pickPublicUrl([...lan, 'https://shop.example.com/'], ['https://shop.example.com/']), 'https://shop.example.com')
    assert.equal(pickPublicUrl(['https://192.168.1.5', 'http://abc.onion'], []), 'https://192.168.1.5')
    assert.equal(pickPublicUrl(['http://localhost:8080'], []), null)
  })

  test('every action has a distinct id, a group and a description', async () => {
    const ids = Object.keys((actions as any).actions) // eslint-disable-line
    assert.ok(ids.length >= 26, `${ids.length} actions`)
    for (const id of ids) {
      const m = await (actions.get(id as never) as any).exportMetadata({ effects: fx.effects }) // eslint-disable-line
      assert.ok(m.group && m.description.length > 20, id)
    }
  })
})
