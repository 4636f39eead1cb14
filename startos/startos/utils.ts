// How the package's code talks to keysat-serve: the admin API on the loopback address, with the
// master key the container's entrypoint keeps in the volume (`admin-api-key`).
import { readFile } from 'node:fs/promises'
import { T } from '@start9labs/start-sdk'
import { sdk } from './sdk'

/**
 * Where the daemon and its data are. StartOS mounts the `main` volume at this path in the
 * package's own container, and keysat-serve listens on 8080 in the same network namespace. The
 * tests point both at a keysat-serve they started.
 */
export const place = {
  daemonUrl: 'http://127.0.0.1:8080',
  dataDir: sdk.volumes.main.path,
  /** Runs the image's entrypoint with `args` (and `input` on its stdin) in a throwaway container on the volume. */
  runInImage: async (effects: T.Effects, args: string[], input?: string): Promise<void> => {
    const mounts = sdk.Mounts.of().mountVolume({
      volumeId: 'main',
      subpath: null,
      mountpoint: '/data',
      readonly: false,
    })
    await sdk.SubContainer.withTemp(effects, { imageId: 'main' }, mounts, 'keysat-tool', (sub) =>
      sub.execFail(['/usr/local/bin/docker-entrypoint.sh', ...args], {
        env: { KEYSAT_DATA_DIR: '/data' },
        ...(input === undefined ? {} : { input }),
      }),
    )
  },
}

export type Json = any // eslint-disable-line @typescript-eslint/no-explicit-any

/** The master admin key, as the entrypoint wrote it on the first start. */
export async function adminKey(): Promise<string> {
  let text: string
  try {
    text = await readFile(`${place.dataDir}/admin-api-key`, 'utf8')
  } catch {
    throw new Error(
      'The admin key is not there yet: Keysat makes it on its first start. Start the service and try again.',
    )
  }
  const key = text.split('\n')[0].trim()
  if (key.length < 32) throw new Error('The stored admin key is damaged (shorter than 32 characters).')
  return key
}

/** Keysat's error words, said the way an operator reads them. */
const reasons: Record<number, string> = {
  400: 'Keysat refused the input',
  401: 'Keysat did not accept the admin key',
  403: 'Keysat did not accept the admin key',
  404: 'Keysat has no such item',
  409: 'that conflicts with what Keysat already has',
  413: 'the input is too large',
  429: 'too many requests; wait a moment',
  502: 'a payment provider did not answer as expected',
  503: 'Keysat cannot do this right now',
}

type Method = 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE'

/** Calls an admin route and answers its status and JSON, whatever the status. */
export async function call(
  method: Method,
  path: string,
  body?: unknown,
  contentType = 'application/json',
): Promise<{ status: number; data: Json; text: string }> {
  const key = await adminKey()
  let resp: Response
  try {
    resp = await fetch(place.daemonUrl + path, {
      method,
      headers: {
        Authorization: `Bearer ${key}`,
        ...(body === undefined ? {} : { 'Content-Type': contentType }),
      },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
      signal: AbortSignal.timeout(30_000),
    })
  } catch (e) {
    const why = (e as { cause?: { code?: string } }).cause?.code ?? (e as Error).message
    throw new Error(`Keysat is not answering (${why}). Is the service running?`)
  }
  const text = await resp.text()
  let data: Json = null
  try {
    data = text ? JSON.parse(text) : null
  } catch {
    data = null
  }
  return { status: resp.status, data, text }
}

/** The operator's reading of a refusal: what kind of problem, then Keysat's own words. */
export function refusal(status: number, data: Json, text: string): Error {
  const detail =
    data && typeof data.message === 'string' ? data.message : text.slice(0, 300) || `HTTP ${status}`
  return new Error(`${reasons[status] ?? `Keysat answered ${status}`}: ${detail}`)
}

/** Calls an admin route; answers its JSON, or throws an error whose text the operator can act on. */
export async function admin(method: Method, path: string, body?: unknown): Promise<Json> {
  const r = await call(method, path, body)
  if (r.status < 200 || r.status > 299) throw refusal(r.status, r.data, r.text)
  return r.data
}

/** The items of a comma-separated form field, trimmed, without empty ones. */
export function commaList(text: string | null | undefined): string[] {
  return (text ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item)
}

/** A path segment or query value, encoded. */
export const enc = encodeURIComponent

/** One line per row, aligned: what a list action shows. */
export function table(rows: string[][]): string {
  if (rows.length === 0) return ''
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)))
  return rows.map((r) => r.map((c, i) => (c ?? '').padEnd(widths[i])).join('  ').trimEnd()).join('\n')
}

/** An action's answer: a title, a message, and optionally one value to copy. */
export function answer(
  title: string,
  message: string,
  value?: { value: string; masked?: boolean; qr?: boolean },
) {
  return {
    version: '1' as const,
    title,
    message,
    result: value
      ? {
          type: 'single' as const,
          value: value.value,
          copyable: true,
          qr: value.qr ?? false,
          masked: value.masked ?? false,
        }
      : null,
  }
}

/** A UTC timestamp as a person reads it: 2026-11-30 21:31. */
export function when(t: string | null | undefined): string {
  return t ? t.replace('T', ' ').replace(/:\d\dZ$/, '') : '-'
}

/** Satoshis with thousands separators. */
export function sats(n: number | null | undefined): string {
  return n === null || n === undefined ? '-' : `${n.toLocaleString('en-US')} sats`
}
