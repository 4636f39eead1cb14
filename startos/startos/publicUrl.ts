// Which of the service interface's addresses buyers and payment providers are sent to.
import { T } from '@start9labs/start-sdk'
import { sdk } from './sdk'

export const apiPort = 8080

/** A URL's rank: lower is better. Public addresses first, then .local names, then private IPs. */
function rank(url: string, isPublic: boolean): number {
  let host: string
  try {
    host = new URL(url).hostname
  } catch {
    return 99
  }
  const https = url.startsWith('https:') ? 0 : 1
  if (host === 'localhost' || host.startsWith('127.') || host === '[::1]') return 98
  if (host.endsWith('.onion')) return 40 + https
  if (isPublic) return (/^[\d.]+$|^\[/.test(host) ? 10 : 0) + https
  if (host.endsWith('.local')) return 20 + https
  return 30 + https
}

/**
 * The URL to hand out: the best of the interface's addresses, or null when it has none a browser
 * elsewhere could reach. `publicUrls` are those StartOS marks public (clearnet domains and IPs).
 */
export function pickPublicUrl(urls: string[], publicUrls: string[]): string | null {
  const isPublic = new Set(publicUrls)
  const ranked = [...new Set([...publicUrls, ...urls])]
    .map((u) => ({ u: u.replace(/\/+$/, ''), r: rank(u, isPublic.has(u)) }))
    .filter((x) => x.r < 98)
    .sort((a, b) => a.r - b.r || a.u.localeCompare(b.u))
  return ranked.length ? ranked[0].u : null
}

/**
 * This service's public URL: the one the operator set in the store, else the best address of the
 * `api` interface. `const` re-runs the caller (the daemon's setup) when the addresses change.
 */
export async function ownPublicUrl(
  effects: T.Effects,
  chosen: string | null | undefined,
  mode: 'const' | 'once',
): Promise<string | null> {
  if (chosen) return chosen.replace(/\/+$/, '')
  const read = sdk.host.getOwn(effects, 'main')
  const host = mode === 'const' ? await read.const() : await read.once()
  const api = host?.bindings[apiPort]?.interfaces['api']?.addressInfo
  return api ? pickPublicUrl(api.format(), api.public.format()) : null
}
