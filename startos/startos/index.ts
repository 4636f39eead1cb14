// The package's exports, as StartOS loads them from javascript/index.js.
import { buildManifest } from '@start9labs/start-sdk'
import { sdk } from './sdk'
import { manifest as sdkManifest } from './manifest'
import { versionGraph } from './versions'
import { setInterfaces } from './interfaces'
import { setDependencies } from './dependencies'
import { actions } from './actions'
import { restoreInit } from './backups'
import { initStore } from './init'

export { main } from './main'
export { createBackup } from './backups'
export { actions }

export const init = sdk.setupInit(restoreInit, versionGraph, setInterfaces, setDependencies, actions, initStore)
export const uninit = sdk.setupUninit(versionGraph)
export const manifest = buildManifest(versionGraph, sdkManifest)
