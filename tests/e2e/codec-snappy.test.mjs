// Must show 1 of issue 2 with --compression snappy: see codec-cases.mjs.
import { codecSuite } from './codec-cases.mjs'

codecSuite('snappy')
