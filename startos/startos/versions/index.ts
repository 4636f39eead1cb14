import { VersionGraph } from '@start9labs/start-sdk'
import { v0_1_0 } from './v0_1_0'

export const versionGraph = VersionGraph.of({ current: v0_1_0, other: [] })
