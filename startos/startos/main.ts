// The daemon: the image's entrypoint (migrate, then keysat-serve) on the `main` volume, with its
// environment from the package's store and the service interfaces, ready once /healthz answers.
import { sdk } from './sdk'
import { store } from './fileModels/store'
import { apiPort, ownPublicUrl } from './publicUrl'
import { btcpayAddresses } from './btcpay'

export const main = sdk.setupMain(async ({ effects }) => {
  const settings = await store().read().const(effects)
  const publicUrl = await ownPublicUrl(effects, settings?.public_url, 'const')
  const btcpay = await btcpayAddresses(effects)

  const env: Record<string, string> = {
    KEYSAT_DATA_DIR: '/data',
    KEYSAT_BIND: `0.0.0.0:${apiPort}`,
  }
  if (publicUrl) env.KEYSAT_PUBLIC_URL = publicUrl
  if (settings?.operator_name) env.KEYSAT_OPERATOR_NAME = settings.operator_name
  if (btcpay) {
    env.BTCPAY_URL = btcpay.daemonUrl
    if (btcpay.browserUrl) env.BTCPAY_BROWSER_URL = btcpay.browserUrl
  }

  const mounts = sdk.Mounts.of().mountVolume({
    volumeId: 'main',
    subpath: null,
    mountpoint: '/data',
    readonly: false,
  })
  const keysat = await sdk.SubContainer.of(effects, { imageId: 'main' }, mounts, 'keysat')

  return sdk.Daemons.of(effects).addDaemon('primary', {
    subcontainer: keysat,
    exec: { command: sdk.useEntrypoint(), env, sigtermTimeout: 30_000 },
    ready: {
      display: 'Licensing API',
      fn: async () => {
        try {
          const r = await fetch(`http://127.0.0.1:${apiPort}/healthz`, { signal: AbortSignal.timeout(3000) })
          const body = (await r.json().catch(() => null)) as { ok?: boolean } | null
          if (r.ok && body?.ok === true)
            return { result: 'success', message: 'Keysat answers and its database is readable' }
          return { result: 'failure', message: `Keysat answers /healthz with ${r.status}: the database is not readable` }
        } catch {
          return { result: 'starting', message: 'Keysat is starting' }
        }
      },
    },
    requires: [],
  })
})
