// What StartOS shows and needs before anything runs: identity, the image (built from the
// repository's Dockerfile for both architectures), the one volume, and BTCPay as an optional
// dependency (Zaprite alone is enough to sell).
import { setupManifest } from '@start9labs/start-sdk'

export const manifest = setupManifest({
  id: 'keysat-cpp',
  title: 'Keysat (C++)',
  license: 'proprietary',
  packageRepo: 'https://github.com/keysat-cpp/keysat-cpp/tree/main/startos',
  upstreamRepo: 'https://github.com/keysat-cpp/keysat-cpp',
  marketingUrl: 'https://github.com/keysat-cpp/keysat-cpp',
  donationUrl: null,
  description: {
    short: 'Sell software licenses for bitcoin or cards, verified offline',
    long:
      'Keysat signs license keys with a key you hold, sells them through your own BTCPay ' +
      'Server (bitcoin) or Zaprite (cards), and answers your software\'s license checks. ' +
      'Customers verify keys offline. Compatible with Keysat 0.2 clients and keys.',
  },
  volumes: ['main'],
  images: {
    main: {
      source: { dockerBuild: { dockerfile: '../Dockerfile', workdir: '..' } },
      arch: ['x86_64', 'aarch64'],
    },
  },
  alerts: {
    install: null,
    update: null,
    uninstall:
      'Uninstalling deletes the database and the signing key. Licenses already sold keep ' +
      'validating offline, but this server can no longer issue or check them. Back up first.',
    restore: null,
    start: null,
    stop: 'While Keysat is stopped, buyers cannot check out and online license checks fail.',
  },
  dependencies: {
    btcpayserver: {
      description: 'Takes bitcoin payments for the licenses you sell (optional with Zaprite).',
      optional: true,
      s9pk: null,
    },
  },
})
